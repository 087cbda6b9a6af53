import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { type DialogueRecord, InteractionLog } from '../../../../src/services/memory/interactionLog.ts';
import { tempFolders } from '../../../support/fixtures.ts';

const { folder, cleanup } = tempFolders();
afterEach(cleanup);

const record = (id: string, over: Partial<DialogueRecord> = {}): DialogueRecord => ({
  id,
  conversationId: `c-${id}`,
  run: 1,
  task: `task ${id}`,
  answer: `answer ${id}`,
  turns: [{ speaker: 'ALFRED', kind: 'plan', output: 'plan', at: 1, recalled: ['r-old'] }],
  models: [],
  trajectory: [],
  finalDissonance: null,
  codexVersion: 1,
  startedAt: 1,
  finishedAt: 2,
  ...over,
});

describe('the interaction log’s visibility', () => {
  it('keeps who could see each dialogue, and what its plan recalled', () => {
    const log = new InteractionLog(folder());
    log.append(record('a', { guildId: 'g', channelId: 'ch', visibility: 'private-thread' }));
    log.append(record('b'));
    expect(log.get('a')).toMatchObject({ visibility: 'private-thread', guildId: 'g', channelId: 'ch' });
    expect(log.get('a')?.turns[0]?.recalled).toEqual(['r-old']);
    expect(log.get('b')).not.toHaveProperty('visibility');
    log.close();
  });

  it('adds the column to a log made before it was kept; its records stay without one (not public)', () => {
    const dir = folder();
    const old = new Database(join(dir, 'memory.sqlite'));
    old.exec(`
      CREATE TABLE dialogues (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, conversation_id TEXT NOT NULL,
        run INTEGER NOT NULL, task TEXT NOT NULL, answer TEXT NOT NULL, turns TEXT NOT NULL,
        models TEXT NOT NULL, trajectory TEXT NOT NULL, final_dissonance REAL, user_id TEXT,
        guild_id TEXT, channel_id TEXT, codex_version INTEGER NOT NULL, started_at INTEGER NOT NULL,
        finished_at INTEGER NOT NULL, embedded INTEGER NOT NULL DEFAULT 0
      );
      INSERT INTO dialogues (id, conversation_id, run, task, answer, turns, models, trajectory,
        guild_id, channel_id, codex_version, started_at, finished_at)
        VALUES ('old', 'c-old', 1, 't', 'a', '[]', '[]', '[]', 'g', 'ch', 1, 1, 2);
    `);
    old.close();

    const log = new InteractionLog(dir);
    expect(log.get('old')).toMatchObject({ id: 'old', guildId: 'g', channelId: 'ch' });
    expect(log.get('old')).not.toHaveProperty('visibility');
    log.append(record('new', { visibility: 'public' }));
    expect(log.get('new')?.visibility).toBe('public');
    log.close();
    // Opening it again finds the column there.
    const again = new InteractionLog(dir);
    expect(again.since(0).map((r) => r.visibility ?? null)).toEqual([null, 'public']);
    again.close();
  });
});

describe('the interaction log, forgetting', () => {
  it('finds the records whose plan recalled a record (not those that merely mention its id), and rewrites their words', () => {
    const log = new InteractionLog(folder());
    log.append(
      record('a', { turns: [{ speaker: 'ALFRED', kind: 'plan', output: 'p', at: 1, recalled: ['r-x'] }] }),
    );
    const mention = { tool: 'lookup', input: { ref: 'r-x' }, ok: true, ms: 1 };
    log.append(
      record('b', {
        turns: [{ speaker: 'BRICK', kind: 'thesis', output: 't', at: 1, toolCalls: [mention] }],
      }),
    );
    log.append(
      record('c', { turns: [{ speaker: 'ALFRED', kind: 'plan', output: 'p', at: 1, recalled: ['r-y'] }] }),
    );
    expect(log.recalling(['r-x']).map((r) => r.id)).toEqual(['a']);
    expect(log.recalling(['r-x', 'r-y']).map((r) => r.id)).toEqual(['a', 'c']);

    log.rewrite({ id: 'a', task: 'task cut', answer: 'answer cut', turns: [] });
    expect(log.get('a')).toMatchObject({
      task: 'task cut',
      answer: 'answer cut',
      turns: [],
      conversationId: 'c-a',
    });
    expect(log.truncateWal()).toBe(true);
    log.close();
  });
});
