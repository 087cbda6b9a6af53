import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/services/clock.ts';
import { createOllamaEmbedder } from '../../src/services/llm/embedder.ts';
import { createSilentLogger } from '../../src/services/logger.ts';
import { InteractionLog } from '../../src/services/memory/interactionLog.ts';
import { memoryText } from '../../src/services/memory/memory.ts';
import { openMemory } from '../../src/services/memory/openMemory.ts';
import { waitUntil } from '../support/clock.ts';
import { crashRepeatedly } from '../support/crash.ts';
import { EMBED_MODEL, tempFolders } from '../support/fixtures.ts';
import { OllamaEmulator } from '../support/ollamaEmulator.ts';

const folders = tempFolders();
let emulator: OllamaEmulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
  folders.cleanup();
});

/** What a kill left, read straight from SQLite. */
async function leftBehind(dataDir: string) {
  const log = await InteractionLog.open({ dataDir });
  try {
    const recorded = await log.since(0, 1_000_000);
    return {
      ids: new Set(recorded.map((r) => r.id)),
      records: recorded.length,
      withoutVector: recorded.filter((r) => !r.embedded).length,
      vectors: await log.vectors.count(),
    };
  } finally {
    await log.close();
  }
}

/**
 * After each kill: a fresh start (as the bot's) recalls every dialogue that was recorded, each
 * record has one vector in SQLite and one label in the index, and the model is asked only for the
 * records the kill left without a vector.
 */
async function startAndCheck(dataDir: string, completed: string[]) {
  if (!emulator) throw new Error('no emulator');
  const left = await leftBehind(dataDir);
  // A record is marked embedded exactly when its vector row is there, whatever the kill cut.
  expect(left.vectors).toBe(left.records - left.withoutVector);
  for (const line of completed.filter((l) => l.startsWith('recorded ')))
    expect(left.ids.has(line.slice('recorded '.length)), line).toBe(true);
  const embeds = () => emulator?.requests.filter((r) => r.path === '/api/embed').length ?? 0;
  const before = embeds();

  const { memory, log } = await openMemory({
    dataDir,
    embedder: createOllamaEmbedder({ host: emulator.url, model: EMBED_MODEL, timeoutMs: 5000 }),
    logger: createSilentLogger(),
    clock: systemClock,
    recallK: 3,
    recallFloor: 0.5,
  });
  try {
    await waitUntil(async () => (await memory.stats()).pending === 0);
    expect(embeds() - before).toBe(left.withoutVector);
    expect(await memory.stats()).toMatchObject({
      dialogues: left.records,
      pending: 0,
      vectors: left.records,
    });
    expect(await log.vectors.count()).toBe(left.records);
    for (const record of await log.since(0, 1_000_000)) {
      const found = await memory.recall(memoryText(record), { k: 3, floor: 0.99 });
      expect(
        found.map((r) => r.conversationId),
        record.task,
      ).toContain(record.conversationId);
    }
  } finally {
    await memory.close();
  }
  return left;
}

/** Each kill costs a writer's start (tsx and its imports, 2–3 s on a loaded machine) and a check. */
const TIMEOUT = 180_000;

describe('a kill -9 while the memory works', () => {
  it(
    'loses nothing when it lands while dialogues are being embedded',
    async () => {
      emulator = await OllamaEmulator.start({ models: [EMBED_MODEL], embeddingDimension: 256 });
      const dataDir = folders.folder();
      let cutEmbeddings = 0;
      let records = 0;
      const result = await crashRepeatedly({
        script: 'tests/support/scripts/memoryWriter.ts',
        args: (attempt) => [dataDir, emulator?.url ?? '', 'embedding', String(attempt)],
        kills: 10,
        // Past the first dialogues: kills land anywhere in a steady stream of them.
        maxDelayMs: 500,
        async check(_attempt, completed) {
          const left = await startAndCheck(dataDir, completed);
          if (left.withoutVector > 0) cutEmbeddings++;
          records = left.records;
        },
      });
      expect(result.kills).toBe(10);
      expect(records).toBeGreaterThan(10);
      // The writer spends most of its time waiting for the model: most kills cut an embedding.
      expect(cutEmbeddings).toBeGreaterThan(0);
    },
    TIMEOUT,
  );

  it(
    'loses nothing when it lands while a snapshot is being written',
    async () => {
      emulator = await OllamaEmulator.start({ models: [EMBED_MODEL], embeddingDimension: 256 });
      const dataDir = folders.folder();
      let midSnapshot = 0;
      let snapshots = 0;
      await crashRepeatedly({
        script: 'tests/support/scripts/memoryWriter.ts',
        args: (attempt) => [dataDir, emulator?.url ?? '', 'snapshot', String(attempt)],
        kills: 10,
        maxDelayMs: 500,
        async check(_attempt, completed) {
          await startAndCheck(dataDir, completed);
          if (completed.at(-1) === 'snapshotting') midSnapshot++;
          snapshots += completed.filter((l) => l.startsWith('snapshot ')).length;
        },
      });
      expect(snapshots).toBeGreaterThan(10);
      // Most of the writer's time goes to snapshots: most kills cut one.
      expect(midSnapshot).toBeGreaterThan(0);
    },
    TIMEOUT,
  );
});
