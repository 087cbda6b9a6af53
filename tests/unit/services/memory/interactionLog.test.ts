import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { StoreLocation } from '../../../../src/services/db/openStoreDatabase.ts';
import { type DialogueRecord, InteractionLog } from '../../../../src/services/memory/interactionLog.ts';
import { tempFolders } from '../../../support/fixtures.ts';
import { useStoreBackends } from '../../../support/postgres.ts';

const { folder, cleanup } = tempFolders();
const opened: InteractionLog[] = [];
afterEach(async () => {
  for (const log of opened.splice(0).reverse()) await log.close();
  cleanup();
});

const open = async (location: StoreLocation) => {
  const log = await InteractionLog.open(location);
  opened.push(log);
  return log;
};

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

describe.each(useStoreBackends())('the interaction log on $name', (backend) => {
  it('keeps each dialogue whole, who could see it and what its plan recalled, across a restart', async () => {
    const location = await backend.location(folder());
    const log = await open(location);
    const a = await log.append(
      record('a', {
        guildId: 'g',
        channelId: 'ch',
        userId: 'u',
        visibility: 'private-thread',
        finalDissonance: 0.123456789,
        trajectory: [0.5, 0.25],
        startedAt: 1_700_000_000_000,
        finishedAt: 1_700_000_000_500,
      }),
    );
    await log.append(record('b', { finishedAt: 10 }));
    expect(a).toMatchObject({ seq: 1, embedded: false, finalDissonance: 0.123456789 });
    await log.close();

    const again = await open(location);
    expect(await again.get('a')).toEqual(a);
    expect((await again.get('a'))?.turns[0]?.recalled).toEqual(['r-old']);
    expect(await again.get('b')).not.toHaveProperty('visibility');
    expect(await again.get('missing')).toBeUndefined();
    expect((await again.since(0)).map((r) => r.id)).toEqual(['a', 'b']);
    expect((await again.since(1)).map((r) => r.id)).toEqual(['b']);
    expect((await again.between(5, 11)).map((r) => r.id)).toEqual(['b']);
    expect((await again.ofConversation('c-a')).map((r) => r.id)).toEqual(['a']);
    expect(await again.count()).toEqual({ total: 2, pending: 2 });
  });

  it('looks up the hits of a recall in one call, with what recall shows and where each was held', async () => {
    const log = await open(await backend.location(folder()));
    const a = await log.append(
      record('a', {
        guildId: 'g',
        channelId: 'ch',
        userId: 'u',
        visibility: 'public',
        finishedAt: 1_700_000_000_500,
      }),
    );
    await log.append(record('b', { finalDissonance: 0.5 }));
    const found = await log.recollections(['b', 'missing', 'a']);
    expect([...found.keys()].sort()).toEqual(['a', 'b']);
    expect(found.get('a')).toEqual({
      id: 'a',
      conversationId: 'c-a',
      task: 'task a',
      answer: 'answer a',
      finalDissonance: null,
      finishedAt: a.finishedAt,
      guildId: 'g',
      channelId: 'ch',
      userId: 'u',
      visibility: 'public',
    });
    expect(found.get('b')).toMatchObject({ finalDissonance: 0.5, finishedAt: 2 });
    expect(found.get('b')).not.toHaveProperty('guildId');
    expect(await log.recollections([])).toEqual(new Map());
  });

  it('stores a vector as bytes, marks its record embedded, and numbers a replacement anew', async () => {
    const log = await open(await backend.location(folder()));
    await log.append(record('a'));
    await log.append(record('b'));
    const first = await log.vectors.put('a', 'embed', [0.5, -1.25, 3]);
    expect(first).toMatchObject({ seq: 1, recordId: 'a', model: 'embed' });
    expect(await log.vectors.put('gone', 'embed', [1, 2, 3])).toBeUndefined();
    expect(Array.from((await log.vectors.get('a'))?.vector ?? [])).toEqual([0.5, -1.25, 3]);
    expect(await log.count()).toEqual({ total: 2, pending: 1 });
    expect((await log.pending()).map((r) => r.id)).toEqual(['b']);

    const second = await log.vectors.put('a', 'embed', [1, 1, 1]);
    expect(second?.seq).toBe(2);
    expect(await log.vectors.summary()).toEqual({ count: 1, lastSeq: 2, models: ['embed'], dimension: 3 });
    expect(await log.vectors.labels()).toEqual([{ seq: 2, recordId: 'a' }]);
    expect((await log.vectors.after(0, 10)).map((v) => v.seq)).toEqual([2]);
  });

  it('forgets a conversation with its vectors, and notes each deleted vector for the other processes', async () => {
    const log = await open(await backend.location(folder()));
    await log.append(record('a', { conversationId: 'c' }));
    await log.append(record('b', { conversationId: 'c' }));
    await log.append(record('k'));
    for (const id of ['a', 'b', 'k']) await log.vectors.put(id, 'embed', [1, 0]);
    expect(await log.vectors.cursors()).toEqual({ vectors: 3, deletions: 0 });

    const removed = await log.deleteConversation('c');
    expect(removed.map((r) => r.id)).toEqual(['a', 'b']);
    expect(await log.get('a')).toBeUndefined();
    expect(await log.vectors.labels()).toEqual([{ seq: 3, recordId: 'k' }]);
    expect(await log.vectors.deletionsAfter(0, 10)).toEqual([
      { seq: 1, recordId: 'a', vectorSeq: 1 },
      { seq: 2, recordId: 'b', vectorSeq: 2 },
    ]);
    expect(await log.scrubDeleted(['dialogues', 'vectors'])).toBe(true);
    // The counter keeps the deleted labels: a new vector never reuses one.
    expect((await log.vectors.summary()).lastSeq).toBe(3);

    await log.vectors.clear();
    expect(await log.vectors.deletionsAfter(2, 10)).toEqual([{ seq: 3, recordId: 'k', vectorSeq: 3 }]);
    expect(await log.count()).toEqual({ total: 1, pending: 1 });
  });

  it('numbers vectors in the order they commit, whichever of two handles writes them', async () => {
    const location = await backend.location(folder());
    const one = await open(location);
    const two = await open(location);
    const ids = Array.from({ length: 20 }, (_, n) => `r${n}`);
    for (const id of ids) await one.append(record(id));
    // A reader replaying as it goes, as another process does: it must never skip a number.
    const seen: number[] = [];
    let cursor = 0;
    let replaying = Promise.resolve();
    // One replay at a time, as a process runs them.
    const replay = () => {
      replaying = replaying.then(async () => {
        for (const vector of await two.vectors.after(cursor, 1000)) {
          seen.push(vector.seq);
          cursor = vector.seq;
        }
      });
      return replaying;
    };
    await Promise.all(
      ids.map(async (id, n) => {
        await (n % 2 ? one : two).vectors.put(id, 'embed', [n, 1]);
        await replay();
      }),
    );
    await replay();
    expect(seen).toEqual(Array.from({ length: 20 }, (_, n) => n + 1));
  });

  it('numbers dialogues in the order they commit, so a cursor over `since` never skips one', async () => {
    const location = await backend.location(folder());
    const one = await open(location);
    const two = await open(location);
    const seen: number[] = [];
    let cursor = 0;
    let reading = Promise.resolve();
    const read = () => {
      reading = reading.then(async () => {
        for (const stored of await two.since(cursor, 1000)) {
          seen.push(stored.seq);
          cursor = stored.seq;
        }
      });
      return reading;
    };
    await Promise.all(
      Array.from({ length: 20 }, async (_, n) => {
        await (n % 2 ? one : two).append(record(`r${n}`));
        await read();
      }),
    );
    await read();
    expect(seen).toEqual(Array.from({ length: 20 }, (_, n) => n + 1));
  });

  it('keeps a snapshot record per key, and removes it', async () => {
    const log = await open(await backend.location(folder()));
    const meta = {
      version: 2 as const,
      file: 'snapshot-1-ab.hnsw',
      models: ['embed'],
      dimension: 2,
      lastSeq: 1,
      live: 1,
      elements: 1,
      writtenAt: 5,
    };
    await log.vectors.recordSnapshot(meta);
    await log.vectors.recordSnapshot({ ...meta, writtenAt: 6 });
    await log.vectors.recordIn('snapshot:shards-1').recordSnapshot({ ...meta, file: 'other.hnsw' });
    expect(await log.vectors.snapshot()).toEqual({ ...meta, writtenAt: 6 });
    expect((await log.vectors.recordIn('snapshot:shards-1').snapshot())?.file).toBe('other.hnsw');
    await log.vectors.recordSnapshot(undefined);
    expect(await log.vectors.snapshot()).toBeUndefined();
  });

  it('finds the records whose plan recalled a record (not those that merely mention its id), and rewrites their words', async () => {
    const log = await open(await backend.location(folder()));
    await log.append(
      record('a', { turns: [{ speaker: 'ALFRED', kind: 'plan', output: 'p', at: 1, recalled: ['r-x'] }] }),
    );
    const mention = { tool: 'lookup', input: { ref: 'r-x' }, ok: true, ms: 1 };
    await log.append(
      record('b', {
        turns: [{ speaker: 'BRICK', kind: 'thesis', output: 't', at: 1, toolCalls: [mention] }],
      }),
    );
    await log.append(
      record('c', { turns: [{ speaker: 'ALFRED', kind: 'plan', output: 'p', at: 1, recalled: ['r-y'] }] }),
    );
    expect((await log.recalling(['r-x'])).map((r) => r.id)).toEqual(['a']);
    expect((await log.recalling(['r-x', 'r-y'])).map((r) => r.id)).toEqual(['a', 'c']);

    await log.rewrite({ id: 'a', task: 'task cut', answer: 'answer cut', turns: [] });
    expect(await log.get('a')).toMatchObject({
      task: 'task cut',
      answer: 'answer cut',
      turns: [],
      conversationId: 'c-a',
    });
    expect(await log.scrubDeleted(['dialogues'])).toBe(true);
  });
});

describe('the interaction log in a file written by an earlier version', () => {
  it('adds the visibility column; its records stay without one (not public)', async () => {
    const dir = folder();
    const old = new Database(join(dir, 'memory.sqlite'));
    old.exec(`
      CREATE TABLE dialogues (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, conversation_id TEXT NOT NULL,
        run INTEGER NOT NULL, task TEXT NOT NULL, answer TEXT NOT NULL, turns TEXT NOT NULL,
        models TEXT NOT NULL, trajectory TEXT NOT NULL, final_dissonance REAL, user_id TEXT,
        guild_id TEXT, channel_id TEXT, codex_version INTEGER NOT NULL, started_at INTEGER NOT NULL,
        finished_at INTEGER NOT NULL, embedded INTEGER NOT NULL DEFAULT 1
      );
      INSERT INTO dialogues (id, conversation_id, run, task, answer, turns, models, trajectory,
        guild_id, channel_id, codex_version, started_at, finished_at)
        VALUES ('old', 'c-old', 1, 't', 'a', '[]', '[]', '[]', 'g', 'ch', 1, 1, 2);
    `);
    old.close();

    const log = await open({ dataDir: dir });
    expect(await log.get('old')).toMatchObject({ id: 'old', guildId: 'g', channelId: 'ch' });
    expect(await log.get('old')).not.toHaveProperty('visibility');
    // Before the vectors table, `embedded` meant "in the index file": it is embedded again.
    expect(await log.count()).toEqual({ total: 1, pending: 1 });
    await log.append(record('new', { visibility: 'public' }));
    expect((await log.get('new'))?.visibility).toBe('public');
    await log.close();
    // Opening it again finds the column there.
    const again = await open({ dataDir: dir });
    expect((await again.since(0)).map((r) => r.visibility ?? null)).toEqual([null, 'public']);
  });
});
