/**
 * Run with `node --import tsx … <data dir> <ollama url> <embedding|snapshot> <attempt>`: opens the
 * memory as the bot does (a start: snapshot, replay, records without a vector embedded), records
 * one dialogue to warm up and prints `ready`, then records dialogues forever, printing
 * `recorded <id>` once each is recorded and embedded. In `snapshot` mode the memory writes a
 * snapshot after every dialogue, and the writer three more, printing `snapshotting` before and
 * `snapshot <seq>` after each: most kills land in one. A crash test kills it at random moments.
 */
import { systemClock } from '../../../src/services/clock.ts';
import { createOllamaEmbedder } from '../../../src/services/llm/embedder.ts';
import { createSilentLogger } from '../../../src/services/logger.ts';
import { openMemory } from '../../../src/services/memory/openMemory.ts';

const [dataDir = '.', host = '', mode = 'embedding', attempt = '0'] = process.argv.slice(2);
const { memory } = await openMemory({
  dataDir,
  embedder: createOllamaEmbedder({ host, model: 'nomic-embed-text', timeoutMs: 5000 }),
  logger: createSilentLogger(),
  clock: systemClock,
  recallK: 3,
  recallFloor: 0.5,
  snapshots: mode === 'snapshot' ? { everyChanges: 1 } : { everyChanges: 1_000_000, everyMs: 3_600_000 },
});
for (let n = 0; ; n++) {
  const words = Array.from({ length: 6 }, (_, i) => `w${attempt}x${n}x${i}`).join(' ');
  const stored = await memory.record({
    conversationId: `thread-${attempt}-${n}`,
    run: 1,
    task: `task ${words}`,
    answer: `answer ${words}`,
    turns: [],
    models: [],
    trajectory: [],
    finalDissonance: null,
    codexVersion: 1,
    startedAt: Date.now(),
    finishedAt: Date.now(),
  });
  if (n === 0) process.stdout.write('ready\n');
  process.stdout.write(`recorded ${stored.id}\n`);
  for (let i = 0; mode === 'snapshot' && i < 3; i++) {
    process.stdout.write('snapshotting\n');
    await memory.snapshot();
    process.stdout.write(`snapshot ${stored.seq}\n`);
  }
}
