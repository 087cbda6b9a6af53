import { existsSync, mkdirSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import hnswlib from 'hnswlib-node';
import { afterEach, describe, expect, it } from 'vitest';
import { type Clock, systemClock } from '../../src/services/clock.ts';
import { createOllamaEmbedder } from '../../src/services/llm/embedder.ts';
import { createSilentLogger } from '../../src/services/logger.ts';
import {
  type DialogueRecord,
  InteractionLog,
  type StoredRecord,
} from '../../src/services/memory/interactionLog.ts';
import { type Memory, memoryText, type SnapshotPolicy } from '../../src/services/memory/memory.ts';
import { openMemory } from '../../src/services/memory/openMemory.ts';
import type { SnapshotMeta } from '../../src/services/memory/vectorStore.ts';
import { ManualClock, waitUntil } from '../support/clock.ts';
import { EMBED_MODEL, tempFolders } from '../support/fixtures.ts';
import { type Harness, startHarness } from '../support/harness.ts';
import { fakeEmbedding, OllamaEmulator } from '../support/ollamaEmulator.ts';
import { scriptRound } from '../support/scripts.ts';

let harness: Harness | undefined;
let emulator: OllamaEmulator | undefined;
const opened: Memory[] = [];
const folders = tempFolders();
afterEach(async () => {
  for (const memory of opened.splice(0)) await memory.close();
  await harness?.close();
  harness = undefined;
  await emulator?.close();
  emulator = undefined;
  folders.cleanup();
});

const env = { MEMORY_SIMILARITY_FLOOR: '0.3' };
const embeds = (e: OllamaEmulator) => e.requests.filter((r) => r.path === '/api/embed').length;

/** A finished dialogue as the graph records it. */
function dialogue(n: number, task: string): Omit<DialogueRecord, 'id'> {
  return {
    conversationId: `thread-${n}`,
    run: 1,
    task,
    answer: `answer ${n}`,
    turns: [],
    models: [],
    trajectory: [0.2],
    finalDissonance: 0.2,
    guildId: 'g1',
    channelId: 'c1',
    codexVersion: 1,
    startedAt: 1000 * n,
    finishedAt: 1000 * n + 500,
  };
}

const TASKS = [
  'What is the capital of France?',
  'How do I bake sourdough bread?',
  'Which river runs through Budapest?',
  'How many moons does Jupiter have?',
  'Who painted the Mona Lisa?',
  'What is the boiling point of water at altitude?',
];

/**
 * The memory as compose opens it, on `dataDir`, embedding through the emulator. `crash()` closes
 * the database without the shutdown snapshot: what a kill leaves on disk.
 */
async function openAt(
  dataDir: string,
  options: { clock?: Clock; snapshots?: Partial<SnapshotPolicy> } = {},
): Promise<{ memory: Memory; log: InteractionLog; crash: () => Promise<void> }> {
  if (!emulator) throw new Error('start the emulator first');
  const { memory, log } = await openMemory({
    dataDir,
    embedder: createOllamaEmbedder({ host: emulator.url, model: EMBED_MODEL, timeoutMs: 5000 }),
    logger: createSilentLogger(),
    clock: options.clock ?? systemClock,
    recallK: 3,
    recallFloor: 0.3,
    ...(options.snapshots ? { snapshots: options.snapshots } : {}),
  });
  opened.push(memory);
  return {
    memory,
    log,
    async crash() {
      opened.splice(opened.indexOf(memory), 1);
      await log.close();
    },
  };
}

/** Every task is recalled first by its own text. */
async function expectRecalled(memory: Memory, tasks: string[]) {
  for (const task of tasks) {
    const [best] = await memory.recall(task, { k: 1, floor: 0.3 });
    expect(best?.task, task).toBe(task);
  }
}

/** Changes the recorded snapshot of a closed memory, as a bug or a hand would. */
async function editSnapshot(dataDir: string, edit: (meta: SnapshotMeta) => SnapshotMeta | undefined) {
  const log = await InteractionLog.open({ dataDir });
  const meta = await log.vectors.snapshot();
  if (!meta) throw new Error('no snapshot recorded');
  await log.vectors.recordSnapshot(edit(meta));
  await log.close();
}
const snapshotFile = async (dataDir: string) => {
  const log = await InteractionLog.open({ dataDir });
  const file = (await log.vectors.snapshot())?.file ?? 'none';
  await log.close();
  return join(dataDir, 'memory', file);
};

describe('memory over a long uptime', () => {
  it('keeps embedding new dialogues after the clock passes the retry interval', async () => {
    const clock = new ManualClock();
    harness = await startHarness({ env, overrides: { clock } });
    scriptRound(harness.emulator, { answer: 'Paris.' });
    await harness.talk('thread-a', 'What is the capital of France?');
    // The runtime's retry finds nothing pending, twice.
    await clock.advance(120_000);
    for (const [thread, task] of [
      ['thread-b', 'How do I bake sourdough bread?'],
      ['thread-c', 'Which river runs through Paris?'],
    ] as const) {
      scriptRound(harness.emulator, { answer: `answer to ${task}` });
      await harness.talk(thread, task);
    }
    expect(await harness.runtime.memory.stats()).toMatchObject({ dialogues: 3, pending: 0, vectors: 3 });
    const found = await harness.runtime.memory.recall('sourdough bread', { floor: 0.3 });
    expect(found.map((r) => r.conversationId)).toContain('thread-b');
  });

  it('embeds at start the dialogues recorded while the embedding model was away', async () => {
    harness = await startHarness({ env });
    harness.emulator.models.delete(EMBED_MODEL);
    for (const [thread, task] of [
      ['thread-a', 'What is the capital of France?'],
      ['thread-b', 'How do I bake sourdough bread?'],
    ] as const) {
      scriptRound(harness.emulator, { answer: `answer to ${task}` });
      await harness.talk(thread, task);
    }
    expect(await harness.runtime.memory.stats()).toMatchObject({ dialogues: 2, pending: 2, vectors: 0 });
    await harness.runtime.close();
    harness.emulator.models.add(EMBED_MODEL);

    const restarted = await harness.restart();
    // Nobody calls embedPending: the start does.
    await waitUntil(async () => (await restarted.memory.stats()).pending === 0);
    expect(await restarted.memory.stats()).toMatchObject({ dialogues: 2, vectors: 2 });
    const found = await restarted.memory.recall('sourdough bread', { floor: 0.3 });
    expect(found[0]?.conversationId).toBe('thread-b');
  });

  it('writes the index on a schedule: after so many new vectors, or when the clock says', async () => {
    emulator = await OllamaEmulator.start({ models: [EMBED_MODEL] });
    const clock = new ManualClock();
    const { memory } = await openAt(folders.folder(), {
      clock,
      snapshots: { everyChanges: 3, everyMs: 60_000 },
    });
    await memory.record(dialogue(1, TASKS[0]!));
    await memory.record(dialogue(2, TASKS[1]!));
    expect(await memory.stats()).toMatchObject({ vectors: 2, unsnapshotted: 2, indexBytes: 0 });
    await memory.record(dialogue(3, TASKS[2]!));
    await waitUntil(async () => (await memory.stats()).unsnapshotted === 0);
    expect((await memory.stats()).indexBytes).toBeGreaterThan(0);
    expect((await memory.stats()).snapshotAt).toBe(clock.now());

    await memory.record(dialogue(4, TASKS[3]!));
    await clock.advance(59_999);
    expect((await memory.stats()).unsnapshotted).toBe(1);
    await clock.advance(1);
    await waitUntil(async () => (await memory.stats()).unsnapshotted === 0);
    expect((await memory.stats()).snapshotAt).toBe(clock.now());
  });
});

describe('a start after a crash', () => {
  it('loads the snapshot and replays the vectors stored after it, without the model', async () => {
    emulator = await OllamaEmulator.start({ models: [EMBED_MODEL] });
    const dataDir = folders.folder();
    const first = await openAt(dataDir);
    for (let n = 0; n < 4; n++) await first.memory.record(dialogue(n, TASKS[n]!));
    await first.memory.snapshot();
    await first.memory.forget('thread-1');
    for (let n = 4; n < 6; n++) await first.memory.record(dialogue(n, TASKS[n]!));
    await first.crash();

    const before = embeds(emulator);
    const { memory } = await openAt(dataDir);
    // The forget wrote a fresh snapshot at once (a forgotten vector leaves the files on disk with
    // it): the two dialogues after it are replayed, none is left to drop.
    expect(await memory.open()).toEqual({ from: 'snapshot', replayed: 2, dropped: 0 });
    expect(embeds(emulator)).toBe(before);
    expect(await memory.stats()).toMatchObject({ dialogues: 5, pending: 0, vectors: 5, unsnapshotted: 2 });
    await expectRecalled(
      memory,
      TASKS.filter((_, n) => n !== 1),
    );
    expect((await memory.recall(TASKS[1]!, { floor: 0.9 })).map((r) => r.task)).toEqual([]);
  });

  it('rebuilds a torn or mismatched snapshot from the stored vectors, without the model', async () => {
    emulator = await OllamaEmulator.start({ models: [EMBED_MODEL] });
    const damages: Array<[string, (dataDir: string) => unknown]> = [
      ['truncated', async (dataDir) => truncateSync(await snapshotFile(dataDir), 200)],
      ['garbage', async (dataDir) => writeFileSync(await snapshotFile(dataDir), '\u0000\u0000')],
      ['not recorded', (dataDir) => editSnapshot(dataDir, () => undefined)],
      ['another dimension', (dataDir) => editSnapshot(dataDir, (meta) => ({ ...meta, dimension: 32 }))],
      ['another model', (dataDir) => editSnapshot(dataDir, (meta) => ({ ...meta, models: ['x'] }))],
      ['more labels', (dataDir) => editSnapshot(dataDir, (meta) => ({ ...meta, live: meta.live + 2 }))],
    ];
    for (const [name, damage] of damages) {
      const dataDir = folders.folder();
      const first = await openAt(dataDir);
      for (let n = 0; n < 5; n++) await first.memory.record(dialogue(n, TASKS[n]!));
      await first.memory.close();
      await damage(dataDir);

      const before = embeds(emulator);
      const { memory } = await openAt(dataDir);
      expect(await memory.open(), name).toMatchObject({ from: 'source', rebuilt: 5 });
      expect(embeds(emulator), name).toBe(before);
      expect(await memory.stats(), name).toMatchObject({ dialogues: 5, pending: 0, vectors: 5 });
      await expectRecalled(memory, TASKS.slice(0, 5));
      // The rebuilt index is written at once, so the next start loads it.
      await waitUntil(async () => (await memory.stats()).unsnapshotted === 0);
      await memory.close();
      const { memory: again } = await openAt(dataDir);
      expect(await again.open(), name).toEqual({ from: 'snapshot', replayed: 0, dropped: 0 });
    }
  });

  it('imports an index written before vectors lived in SQLite, without the model', async () => {
    emulator = await OllamaEmulator.start({ models: [EMBED_MODEL] });
    const dataDir = folders.folder();
    const { log, crash } = await openAt(dataDir);
    const records: StoredRecord[] = [];
    for (const [n, task] of TASKS.slice(0, 4).entries())
      records.push(await log.append({ ...dialogue(n, task), id: `r${n}` }));
    await crash();
    // The layout of before: `embedded` set by the index file, no vectors table, a v1 metadata file.
    const db = new Database(join(dataDir, 'memory.sqlite'));
    db.exec(`DROP TABLE vectors; DROP TABLE memory_meta; UPDATE dialogues SET embedded = 1;
      DELETE FROM sqlite_sequence WHERE name = 'vectors';
      DROP TABLE vector_deletions; DROP TABLE schema_migrations`);
    db.close();
    const index = new hnswlib.HierarchicalNSW('cosine', 64);
    index.initIndex({ maxElements: 16, m: 16, efConstruction: 200, allowReplaceDeleted: true });
    const labels: Record<string, number> = {};
    records.forEach((record, label) => {
      index.addPoint(fakeEmbedding(memoryText(record), 64), label);
      labels[record.id] = label;
    });
    // A fifth vector whose record was forgotten: in the file, not in the labels.
    index.addPoint(fakeEmbedding('forgotten', 64), 4);
    index.markDelete(4);
    mkdirSync(join(dataDir, 'memory'), { recursive: true });
    index.writeIndexSync(join(dataDir, 'memory', 'memory.hnsw'));
    writeFileSync(
      join(dataDir, 'memory', 'memory.meta.json'),
      JSON.stringify({ version: 1, dimension: 64, model: EMBED_MODEL, nextLabel: 5, labels }),
    );

    const before = embeds(emulator);
    const { memory } = await openAt(dataDir);
    expect(await memory.open()).toEqual({ from: 'snapshot', replayed: 0, dropped: 0 });
    expect(embeds(emulator)).toBe(before);
    expect(existsSync(join(dataDir, 'memory', 'memory.meta.json'))).toBe(false);
    expect(await memory.stats()).toMatchObject({ dialogues: 4, pending: 0, vectors: 4 });
    await expectRecalled(memory, TASKS.slice(0, 4));
    // New vectors take labels the old file never used.
    await memory.record(dialogue(9, TASKS[5]!));
    await memory.close();
    const { memory: again } = await openAt(dataDir);
    expect(await again.open()).toEqual({ from: 'snapshot', replayed: 0, dropped: 0 });
    await expectRecalled(again, [...TASKS.slice(0, 4), TASKS[5]!]);
  });
});

describe('a rebuild for a new embedding model', () => {
  it('re-embeds every record with the new model, and the next start loads it without the model', async () => {
    emulator = await OllamaEmulator.start({ models: [EMBED_MODEL], embeddingDimension: 64 });
    const dataDir = folders.folder();
    const first = await openAt(dataDir);
    for (let n = 0; n < 4; n++) await first.memory.record(dialogue(n, TASKS[n]!));
    await first.memory.close();
    emulator.dimension = 32;

    const { memory } = await openAt(dataDir);
    await expect(memory.recall(TASKS[0]!)).rejects.toThrow(
      /64-dimensional[\s\S]*gives 32[\s\S]*memory:rebuild/,
    );
    const before = embeds(emulator);
    expect(await memory.rebuild()).toBe(4);
    expect(embeds(emulator) - before).toBe(4);
    await expectRecalled(memory, TASKS.slice(0, 4));
    await memory.close();

    const after = embeds(emulator);
    const { memory: again } = await openAt(dataDir);
    expect(await again.open()).toEqual({ from: 'snapshot', replayed: 0, dropped: 0 });
    expect(embeds(emulator)).toBe(after);
    await expectRecalled(again, TASKS.slice(0, 4));
  });
});

describe('recall before ALFRED speaks', () => {
  it('embeds the task as the message arrives, so recall makes no model call of its own', async () => {
    emulator = await OllamaEmulator.start({ models: [EMBED_MODEL] });
    const { memory } = await openAt(folders.folder());
    memory.prefetch('A first task, with nothing remembered yet');
    await memory.record(dialogue(1, TASKS[0]!));
    expect(embeds(emulator)).toBe(1);

    memory.prefetch('  Tell me the capital of France ');
    await waitUntil(() => embeds(emulator!) === 2);
    const found = await memory.recall('Tell me the capital of France');
    expect(found[0]?.task).toBe(TASKS[0]);
    expect(embeds(emulator)).toBe(2);
  });
});
