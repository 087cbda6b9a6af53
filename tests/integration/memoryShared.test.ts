import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Embedder } from '../../src/services/llm/embedder.ts';
import { createSilentLogger } from '../../src/services/logger.ts';
import { type DialogueRecord, InteractionLog } from '../../src/services/memory/interactionLog.ts';
import { createMemory, type Memory } from '../../src/services/memory/memory.ts';
import { SYNC_EVERY_MS, SYNC_THROTTLE_MS } from '../../src/services/memory/memorySync.ts';
import { openMemory } from '../../src/services/memory/openMemory.ts';
import { isSnapshotFile } from '../../src/services/memory/snapshotFiles.ts';
import { snapshotSource } from '../../src/services/memory/snapshotRecord.ts';
import { VectorIndex } from '../../src/services/memory/vectorIndex.ts';
import { ManualClock, waitUntil } from '../support/clock.ts';
import { tempFolders } from '../support/fixtures.ts';
import { fakeEmbedding } from '../support/ollamaEmulator.ts';
import { usePostgres } from '../support/postgres.ts';

/**
 * Two processes' memories on one PostgreSQL (two handles, each with its own `DATA_DIR`, as two
 * shards on two hosts): what one records the other recalls, what one forgets leaves the other's
 * recall and the other's snapshot on disk.
 */

const postgres = usePostgres();
const folders = tempFolders();
const opened: Memory[] = [];
afterEach(async () => {
  for (const memory of opened.splice(0).reverse()) await memory.close();
  folders.cleanup();
});

const embedder: Embedder = { model: 'embed-test', embed: async (text) => fakeEmbedding(text, 64) };

async function openAt(
  databaseUrl: string | undefined,
  clock: ManualClock,
  dataDir = folders.folder(),
  scope?: string,
) {
  const { memory } = await openMemory({
    dataDir,
    databaseUrl,
    scope,
    embedder,
    logger: createSilentLogger(),
    clock,
    recallK: 3,
    recallFloor: 0.3,
  });
  opened.push(memory);
  return { memory, dataDir };
}

const dialogue = (conversationId: string, task: string): Omit<DialogueRecord, 'id'> => ({
  conversationId,
  run: 1,
  task,
  answer: `The answer to: ${task}`,
  turns: [],
  models: [],
  trajectory: [],
  finalDissonance: null,
  codexVersion: 1,
  startedAt: 1,
  finishedAt: 2,
});

const recalled = async (memory: Memory, task: string) =>
  (await memory.recall(task, { floor: 0.5 })).map((r) => r.conversationId);

/** What a process's snapshot record on its own disk says (PostgreSQL keeps none in the database). */
function recordedSnapshot(dataDir: string): { live: number; file: string } | undefined {
  const path = join(dataDir, 'memory', 'snapshot.json');
  return existsSync(path)
    ? (JSON.parse(readFileSync(path, 'utf8')) as { live: number; file: string })
    : undefined;
}

describe('two processes sharing the memory in PostgreSQL', () => {
  it('recall in one what the other recorded, and lose from both what either forgets', async () => {
    const url = await postgres.database();
    const clock = new ManualClock();
    const one = await openAt(url, clock);
    const two = await openAt(url, clock);

    const task = 'How do tides depend on the moon and the sun?';
    await one.memory.record(dialogue('c-tides', task));
    await one.memory.record(dialogue('c-bread', 'What makes sourdough bread rise?'));
    expect(await recalled(one.memory, task)).toEqual(['c-tides']);
    // The other process's index learns of it at its next recall (the throttle has passed).
    await clock.advance(SYNC_THROTTLE_MS);
    expect(await recalled(two.memory, task)).toEqual(['c-tides']);
    expect(await two.memory.stats()).toMatchObject({ dialogues: 2, pending: 0, vectors: 2 });

    // The second writes its snapshot to its own folder; the first's folder is not touched by it.
    await two.memory.snapshot();
    const written = recordedSnapshot(two.dataDir);
    expect(written?.live).toBe(2);
    expect(recordedSnapshot(one.dataDir)).toBeUndefined();

    await one.memory.forget('c-tides');
    expect(await recalled(one.memory, task)).toEqual([]);
    // The schedule's replay, without a recall: the other's index and its snapshot on disk lose it.
    await clock.advance(SYNC_EVERY_MS);
    await waitUntil(async () => (await two.memory.stats()).vectors === 1);
    // Its snapshot is written again without it (the old file, which holds the vector, removed).
    await waitUntil(() => recordedSnapshot(two.dataDir)?.live === 1);
    await waitUntil(() => !existsSync(join(two.dataDir, 'memory', written?.file ?? '')));
    expect(readdirSync(join(two.dataDir, 'memory')).filter(isSnapshotFile)).toEqual([
      recordedSnapshot(two.dataDir)?.file,
    ]);
    expect(await recalled(two.memory, task)).toEqual([]);
    expect(await recalled(two.memory, 'What makes sourdough bread rise?')).toEqual(['c-bread']);
  });

  it('a restarted process loads its own snapshot and replays what the others stored since', async () => {
    const url = await postgres.database();
    const clock = new ManualClock();
    const one = await openAt(url, clock);
    const two = await openAt(url, clock);
    await one.memory.record(dialogue('c-1', 'Why is the sky blue at noon?'));
    await clock.advance(SYNC_THROTTLE_MS);
    expect(await recalled(two.memory, 'Why is the sky blue at noon?')).toEqual(['c-1']);
    await two.memory.close();
    opened.splice(opened.indexOf(two.memory), 1);

    await one.memory.record(dialogue('c-2', 'How do bees find their way home?'));
    const again = await openAt(url, clock, two.dataDir);
    expect(await again.memory.open()).toEqual({ from: 'snapshot', replayed: 1, dropped: 0 });
    expect(await recalled(again.memory, 'How do bees find their way home?')).toEqual(['c-2']);
  });

  it.each([
    ['PostgreSQL', true],
    ['SQLite', false],
  ])('two shard processes given one DATA_DIR keep their snapshots apart (%s)', async (_, shared) => {
    const url = shared ? await postgres.database() : undefined;
    const clock = new ManualClock();
    const dataDir = folders.folder();
    const zero = await openAt(url, clock, dataDir, 'shards-0');
    const one = await openAt(url, clock, dataDir, 'shards-1');
    await zero.memory.record(dialogue('c-1', 'Why is the sky blue at noon?'));
    await clock.advance(SYNC_THROTTLE_MS);
    expect(await recalled(one.memory, 'Why is the sky blue at noon?')).toEqual(['c-1']);
    await zero.memory.snapshot();
    await one.memory.snapshot();
    const files = (scope: string) => readdirSync(join(dataDir, 'memory', scope)).filter(isSnapshotFile);
    expect(files('shards-0')).toHaveLength(1);
    expect(files('shards-1')).toHaveLength(1);
    // Each loads its own at its next start.
    await one.memory.close();
    opened.splice(opened.indexOf(one.memory), 1);
    const again = await openAt(url, clock, dataDir, 'shards-1');
    expect(await again.memory.open()).toEqual({ from: 'snapshot', replayed: 0, dropped: 0 });
    expect(files('shards-0')).toHaveLength(1);
  });

  it('a recall learns what another process stored once a second on the clock, not at every call', async () => {
    const clock = new ManualClock();
    const dataDir = folders.folder();
    const zero = await openAt(undefined, clock, dataDir, 'shards-0');
    const one = await openAt(undefined, clock, dataDir, 'shards-1');
    const task = 'Why is the sky blue at noon?';
    await zero.memory.record(dialogue('c-1', task));
    // Within the second since its start, a recall searches the index it has, asking the database nothing.
    expect(await recalled(one.memory, task)).toEqual([]);
    await clock.advance(SYNC_THROTTLE_MS - 1);
    expect(await recalled(one.memory, task)).toEqual([]);
    await clock.advance(1);
    expect(await recalled(one.memory, task)).toEqual(['c-1']);
  });

  it('a recall does not wait while the snapshot is written again without what another process forgot', async () => {
    const clock = new ManualClock();
    const dataDir = folders.folder();
    const zero = await openAt(undefined, clock, dataDir, 'shards-0');
    // The other process, its snapshot's record held back on demand (a write of hundreds of megabytes).
    const log = await InteractionLog.open({ dataDir });
    const dir = join(dataDir, 'memory', 'shards-1');
    const source = snapshotSource(log.vectors, { dialect: 'sqlite', dir, scope: 'shards-1' });
    let gate: Promise<void> | undefined;
    let held = false;
    const index = new VectorIndex({
      dir,
      source: {
        ...source,
        async recordSnapshot(meta) {
          if (gate) {
            held = true;
            await gate;
          }
          await source.recordSnapshot(meta);
        },
      },
    });
    const one = createMemory({
      log,
      index,
      indexDir: dir,
      embedder,
      logger: createSilentLogger(),
      clock,
      recallK: 3,
      recallFloor: 0.3,
    });
    opened.push(one);
    await one.open();
    await zero.memory.record(dialogue('c-tides', 'How do tides depend on the moon and the sun?'));
    await zero.memory.record(dialogue('c-bread', 'What makes sourdough bread rise?'));
    await clock.advance(SYNC_THROTTLE_MS);
    expect(await recalled(one, 'What makes sourdough bread rise?')).toEqual(['c-bread']);
    await one.snapshot();
    const written = index.snapshotMeta;
    expect(written?.live).toBe(2);

    let open = () => {};
    gate = new Promise((resolve) => (open = resolve));
    await zero.memory.forget('c-tides');
    await clock.advance(SYNC_THROTTLE_MS);
    // The replay drops the vector and answers; the rewrite of the snapshot waits behind it.
    let answer: string[] | undefined;
    void recalled(one, 'What makes sourdough bread rise?').then((found) => (answer = found));
    await waitUntil(() => held && answer !== undefined);
    expect(answer).toEqual(['c-bread']);
    expect(await one.stats()).toMatchObject({ vectors: 1 });
    expect(index.snapshotMeta).toBe(written);
    open();
    // Written again without it, the older file (which holds the vector) removed.
    await waitUntil(() => index.snapshotMeta?.live === 1 && !existsSync(join(dir, written?.file ?? '')));
    expect(readdirSync(dir).filter(isSnapshotFile)).toEqual([index.snapshotMeta?.file]);
  });
});
