import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import type { DoneEvent } from '../../src/graph/dialogue.ts';
import { TEST_MODELS } from '../support/fixtures.ts';
import { type Harness, startHarness } from '../support/harness.ts';
import { usePostgres } from '../support/postgres.ts';
import { scriptRound } from '../support/scripts.ts';

const { ALFRED, BRICK } = TEST_MODELS;
let harness: Harness;
afterEach(() => harness?.close());
const postgres = usePostgres();

function scriptOneRound(h: Harness, answer: string) {
  scriptRound(h.emulator, { answer, dissonance: '0.1' });
}

async function drain(iterable: AsyncIterable<unknown>) {
  const out: unknown[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

describe('conversation persistence', () => {
  it('continues a conversation after the checkpoint store is reopened (a restart)', async () => {
    harness = await startHarness();
    scriptOneRound(harness, 'The capital of France is Paris.');
    await harness.talk('thread-1', 'What is the capital of France?');
    await harness.runtime.close();

    const restarted = await harness.restart();
    expect(await restarted.dialogue.exists('thread-1')).toBe(true);
    scriptOneRound(harness, 'About 2.1 million people.');
    const events = await drain(
      restarted.dialogue.run({ conversationId: 'thread-1', message: 'How many people live there?' }),
    );

    expect((events.at(-1) as DoneEvent).run).toBe(2);
    // The earlier exchange reaches the personas' prompts after the restart.
    const plan = harness.emulator.chats(ALFRED).at(-2);
    expect(plan?.messages[1]?.content).toContain('What is the capital of France?');
    expect(plan?.messages[1]?.content).toContain('The capital of France is Paris.');
    const turns = await restarted.dialogue.turns('thread-1');
    expect(turns.filter((t) => t.kind === 'task').map((t) => t.content)).toEqual([
      'What is the capital of France?',
      'How many people live there?',
    ]);
  });

  it('continues a conversation in a second process from PostgreSQL, its newest checkpoints kept', async () => {
    harness = await startHarness({ env: { DATABASE_URL: await postgres.database() } });
    scriptOneRound(harness, 'The capital of France is Paris.');
    await harness.talk('thread-1', 'What is the capital of France?');
    // A second process on the same database, while the first still runs.
    const second = await harness.restart();
    scriptOneRound(harness, 'About 2.1 million people.');
    const events = await drain(
      second.dialogue.run({ conversationId: 'thread-1', message: 'How many people live there?' }),
    );
    expect((events.at(-1) as DoneEvent).run).toBe(2);
    expect((await harness.runtime.dialogue.turns('thread-1')).filter((t) => t.kind === 'task')).toHaveLength(
      2,
    );
    await second.close();
    const client = new pg.Client({ connectionString: harness.env.DATABASE_URL });
    await client.connect();
    const { rows } = await client.query(
      "SELECT count(*)::int AS count FROM batos_checkpoints.checkpoints WHERE thread_id = 'thread-1'",
    );
    await client.end();
    expect(rows[0]?.count).toBeLessThanOrEqual(3);
  });

  it('keeps conversations apart', async () => {
    // Recall across conversations is memory's job (tested there); here only the state counts.
    harness = await startHarness({ env: { MEMORY_RECALL_K: '0' } });
    scriptOneRound(harness, 'Answer A');
    await harness.talk('a', 'Secret about apples');
    scriptOneRound(harness, 'Answer B');
    await harness.talk('b', 'Question about bananas');
    const planForB = harness.emulator.chats(ALFRED).at(-2);
    expect(planForB?.messages[1]?.content).not.toContain('apples');
    expect(await harness.runtime.dialogue.exists('never-seen')).toBe(false);
  });

  it("keeps the user's message when a run fails, and the next run carries on", async () => {
    harness = await startHarness();
    const outOfMemory = { status: 500, error: 'out of memory' };
    harness.emulator.script(ALFRED, [outOfMemory, outOfMemory, outOfMemory, outOfMemory]);
    await expect(harness.talk('t', 'First question')).rejects.toThrow(/out of memory/);

    scriptOneRound(harness, 'Second answer');
    const events = await harness.talk('t', 'Second question');
    expect((events.at(-1) as DoneEvent).answer).toBe('Second answer');
    const turns = await harness.runtime.dialogue.turns('t');
    expect(turns.filter((t) => t.kind === 'task').map((t) => t.content)).toEqual([
      'First question',
      'Second question',
    ]);
  });

  it('keeps every prompt bounded however long the conversation grows', async () => {
    harness = await startHarness();
    const long = 'word '.repeat(2000);
    const sizes: number[] = [];
    for (let i = 0; i < 12; i++) {
      scriptOneRound(harness, `answer ${i} ${long}`);
      await harness.talk('long', `question ${i} ${long}`);
      sizes.push(harness.emulator.chats(BRICK).at(-1)?.messages[1]?.content.length ?? 0);
    }
    // After the first few runs the prompt stops growing.
    expect(Math.max(...sizes)).toBeLessThan(20_000);
    expect(sizes[11]).toBeLessThanOrEqual((sizes[4] ?? 0) + 200);
    // Only the newest checkpoints are kept, so storage grows with the conversation, not its square.
    const db = new Database(join(harness.dataDir, 'checkpoints.sqlite'), { readonly: true });
    const { count } = db
      .prepare("SELECT COUNT(*) AS count FROM checkpoints WHERE thread_id = 'long'")
      .get() as {
      count: number;
    };
    db.close();
    expect(count).toBeLessThanOrEqual(3);
    expect((await harness.runtime.dialogue.turns('long')).filter((t) => t.kind === 'task')).toHaveLength(12);
  });
});
