/**
 * The curation loop's own cost, apart from the judge's: how many dialogues a run gets through when
 * the judge answers at once (the ceiling that file and database writes set), and what the golden
 * store costs at 100,000 samples (append with de-duplication, start, manifest, forget). Part of
 * `npm run bench` (`npm run bench -- curation` alone).
 */
import { randomUUID } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { cpus, loadavg, platform, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../src/services/clock.ts';
import { parseCodex } from '../src/services/codex/loadCodex.ts';
import { createCuration } from '../src/services/curation/curation.ts';
import { CurationLedger } from '../src/services/curation/curationLedger.ts';
import { createGoldenStore } from '../src/services/curation/goldenStore.ts';
import { CRITERIA } from '../src/services/curation/rubric.ts';
import { contentHash, type GoldenSample, SAMPLE_FORMAT } from '../src/services/curation/sample.ts';
import type { ChatModel } from '../src/services/llm/chatModel.ts';
import { createLimiter } from '../src/services/llm/limiter.ts';
import { createOllamaModelFor } from '../src/services/llm/ollamaModels.ts';
import { createSilentLogger } from '../src/services/logger.ts';
import { InteractionLog } from '../src/services/memory/interactionLog.ts';
import { createPersonaRegistry } from '../src/services/personas.ts';
import { REAL_CODEX_PATH } from '../tests/support/fixtures.ts';
import { OllamaEmulator } from '../tests/support/ollamaEmulator.ts';

const DIALOGUES = 300;
const BATCH = 50;
const ROUNDS = 3;
const SAMPLES = 100_000;
const APPENDS = 200;

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};
const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
};
const ms = (x: number) =>
  x < 1 ? `${x.toFixed(2)} ms` : x < 100 ? `${x.toFixed(1)} ms` : `${Math.round(x)} ms`;
const seconds = (x: number) => `${(x / 1000).toFixed(2)} s`;

/** Text of about `length` characters, different for every `seed`. */
const filler = (seed: string, length: number) =>
  `${seed} ${'lorem ipsum dolor sit amet '.repeat(Math.ceil(length / 27))}`.slice(0, length);

/** A finished dialogue as the log keeps it, with realistic prompt sizes. */
function record(n: number) {
  const at = Date.UTC(2026, 10, 30) + n;
  const turn = (speaker: string, kind: string) => ({
    speaker,
    kind,
    system: filler(`${speaker} system`, 1200),
    prompt: filler(`${kind} prompt ${n}`, 1500),
    output: filler(`${kind} said ${n}`, 800) + (speaker === 'ROBIN' ? '\nDISSONANCE: 0.2' : ''),
    model: 'llama3.1:8b',
    at,
  });
  return {
    id: randomUUID(),
    conversationId: `c-${n}`,
    run: 1,
    task: filler(`task ${n}`, 400),
    answer: filler(`answer ${n}`, 800),
    turns: [
      turn('ALFRED', 'plan'),
      turn('BRICK', 'thesis'),
      turn('ROBIN', 'antithesis'),
      turn('ALFRED', 'answer'),
    ],
    models: ['llama3.1:8b'],
    trajectory: [0.2],
    finalDissonance: 0.2,
    guildId: '100000000000000001',
    codexVersion: 1,
    startedAt: at,
    finishedAt: at,
  };
}

const VERDICT = JSON.stringify({
  reason: 'clear and correct',
  scores: Object.fromEntries(CRITERIA.map((c) => [c, 1])),
  total: 5,
});

/** Runs the whole log through the curation service; returns dialogues per second. */
async function throughput(
  judge: 'in-process' | 'emulator',
): Promise<{ perSecond: number; perDialogueMs: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'bat-os-bench-curation-'));
  const emulator = judge === 'emulator' ? await OllamaEmulator.start({ models: ['llama3.1:8b'] }) : undefined;
  try {
    const log = await InteractionLog.open({ dataDir: dir });
    for (let n = 1; n <= DIALOGUES; n++) await log.append(record(n));
    const codex = parseCodex(readFileSync(REAL_CODEX_PATH, 'utf8'), 'codex.toml');
    const personas = createPersonaRegistry(codex);
    const instant: ChatModel = { model: 'instant-judge', invoke: async () => VERDICT };
    emulator?.respond(() => VERDICT);
    const modelFor = emulator
      ? createOllamaModelFor({
          host: emulator.url,
          timeoutMs: 30_000,
          personas: () => personas,
          logger: createSilentLogger(),
          limiter: createLimiter(1),
          clock: systemClock,
        })
      : () => instant;
    const curation = createCuration({
      records: {
        since: (cursor, limit) => log.since(cursor, limit),
        get: (id) => log.get(id),
        records: (conversationId) => log.ofConversation(conversationId),
      },
      modelFor,
      personas: () => personas,
      judge: () => codex.data.curation,
      ledger: await CurationLedger.open({ dataDir: dir }),
      golden: createGoldenStore({
        dir: join(dir, 'golden'),
        anchorSize: 50,
        clock: systemClock,
        logger: createSilentLogger(),
      }),
      clock: systemClock,
      logger: createSilentLogger(),
      // The records have no visibility (the terminal chat's): every one is curated, none capped.
      options: { batch: BATCH, threshold: 4, scope: 'all', memberDaily: 0 },
    });
    const started = performance.now();
    let done = 0;
    for (let report = await curation.run(); report.dialogues > 0; report = await curation.run())
      done += report.dialogues;
    const elapsed = performance.now() - started;
    await curation.close();
    await log.close();
    if (done !== DIALOGUES) throw new Error(`curated ${done} of ${DIALOGUES}`);
    return { perSecond: done / (elapsed / 1000), perDialogueMs: elapsed / done };
  } finally {
    await emulator?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function sample(n: number): GoldenSample {
  const messages = [
    { role: 'system' as const, content: filler('BRICK system', 1200) },
    { role: 'user' as const, content: filler(`prompt ${n}`, 1500) },
    { role: 'assistant' as const, content: filler(`thesis ${n}`, 800) },
  ];
  return {
    messages,
    meta: {
      format: SAMPLE_FORMAT,
      interaction_id: `i-${n}`,
      conversation_id: `c-${n}`,
      persona: 'BRICK',
      kind: 'thesis',
      turn: 1,
      model: 'llama3.1:8b',
      codex_version: 1,
      judge: 'ALFRED',
      judge_model: 'llama3.1:8b',
      rubric_version: 'c1-0123456789ab',
      scores: { principles: 1, reasoning: 1, answers_task: 1, format: 1, no_harm: 1 },
      total: n % 3 === 0 ? 4 : 5,
      reason: 'clear and correct',
      content_hash: contentHash(messages),
      spoke_at: '2026-11-30T12:00:00.000Z',
      curated_at: '2026-11-30T12:00:00.000Z',
      guild_id: '100000000000000001',
    },
  };
}

/** The golden store with 100,000 samples of about 3.7 KB. */
async function atScale(): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'bat-os-bench-golden-'));
  try {
    const open = () =>
      createGoldenStore({ dir, anchorSize: 50, clock: systemClock, logger: createSilentLogger() });
    // Written in bulk (not through the store: only its reading and appending are measured).
    const fd = openSync(join(dir, 'BRICK.jsonl'), 'w');
    let chunk: string[] = [];
    for (let n = 1; n <= SAMPLES; n++) {
      chunk.push(`${JSON.stringify(sample(n))}\n`);
      if (chunk.length === 1000) {
        writeSync(fd, chunk.join(''));
        chunk = [];
      }
    }
    closeSync(fd);
    const bytes = statSync(join(dir, 'BRICK.jsonl')).size;

    // A start after the file grew elsewhere: the manifest is stale, the set is read once.
    const rescans: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      rmSync(join(dir, 'BRICK.manifest.json'), { force: true });
      const started = performance.now();
      await open().repair();
      rescans.push(performance.now() - started);
    }
    // An ordinary start: the manifest matches the file, only the last byte is read.
    const starts: number[] = [];
    for (let i = 0; i < 20; i++) {
      const started = performance.now();
      await open().repair();
      starts.push(performance.now() - started);
    }
    // The first append of a process reads the set for its hashes.
    const firstAppends: number[] = [];
    let store = open();
    for (let i = 0; i < ROUNDS; i++) {
      store = open();
      const started = performance.now();
      await store.append('BRICK', [sample(SAMPLES + 1 + i)]);
      firstAppends.push(performance.now() - started);
    }
    store = open();
    globalThis.gc?.();
    const heapBefore = process.memoryUsage().heapUsed;
    await store.append('BRICK', [sample(SAMPLES + 10)]);
    globalThis.gc?.();
    const heapAfter = process.memoryUsage().heapUsed;
    // Then each append: a hash lookup, one write, one fsync.
    const appends: number[] = [];
    for (let i = 0; i < APPENDS; i++) {
      const next = sample(SAMPLES + 100 + i);
      const started = performance.now();
      await store.append('BRICK', [next]);
      appends.push(performance.now() - started);
    }
    const duplicates: number[] = [];
    for (let i = 0; i < APPENDS; i++) {
      const again = sample(SAMPLES + 100 + i);
      const started = performance.now();
      const { added } = await store.append('BRICK', [again]);
      duplicates.push(performance.now() - started);
      if (added !== 0) throw new Error('a duplicate was appended');
    }
    // The manifest after a run: the running sha256, no re-read.
    const flushes: number[] = [];
    for (let i = 0; i < 20; i++) {
      await store.append('BRICK', [sample(SAMPLES + 1000 + i)]);
      const started = performance.now();
      await store.flush();
      flushes.push(performance.now() - started);
    }
    // /memory forget of one dialogue: a durable rewrite of the whole set.
    const forgets: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const started = performance.now();
      const removed = await store.remove(new Set([`i-${1000 + i}`]));
      forgets.push(performance.now() - started);
      if (removed.BRICK?.samples !== 1) throw new Error('forget removed nothing');
    }
    const manifest = await store.manifest('BRICK');
    return [
      `| read the set at a start with a stale manifest (scan, parse, sha256), median of ${ROUNDS} | ${seconds(median(rescans))} |`,
      `| start with a current manifest (torn-line check), median of 20 | ${ms(median(starts))} |`,
      `| first append of a process (reads the hashes), median of ${ROUNDS} | ${seconds(median(firstAppends))} |`,
      `| memory for the set's hashes and counts | ${((heapAfter - heapBefore) / 1e6).toFixed(0)} MB |`,
      `| append one new sample (hash lookup, write, fsync), p50 / p99 of ${APPENDS} | ${ms(median(appends))} / ${ms(percentile(appends, 0.99))} |`,
      `| refuse a duplicate (hash lookup only), p50 of ${APPENDS} | ${ms(median(duplicates))} |`,
      `| write the manifest after a run (running sha256, durable write), median of 20 | ${ms(median(flushes))} |`,
      `| forget one dialogue (durable rewrite of the set), median of ${ROUNDS} | ${seconds(median(forgets))} |`,
      `| the set | ${manifest?.samples.toLocaleString('en-US')} samples, ${(bytes / 1e6).toFixed(0)} MB |`,
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The disk's fsync right now, p50 of 100 appends of 4 KB: the writes' own floor. */
function fsyncMs(): number {
  const dir = mkdtempSync(join(tmpdir(), 'bat-os-bench-fsync-'));
  try {
    const fd = openSync(join(dir, 'probe'), 'a');
    const times: number[] = [];
    for (let i = 0; i < 100; i++) {
      const started = performance.now();
      writeSync(fd, 'x'.repeat(4096));
      fsyncSync(fd);
      times.push(performance.now() - started);
    }
    closeSync(fd);
    return median(times);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchCuration(): Promise<string> {
  const fsyncBefore = fsyncMs();
  const inProcess: number[] = [];
  const overHttp: number[] = [];
  for (let i = 0; i < ROUNDS; i++) inProcess.push((await throughput('in-process')).perSecond);
  for (let i = 0; i < ROUNDS; i++) overHttp.push((await throughput('emulator')).perSecond);
  const scale = await atScale();
  const fsyncAfter = fsyncMs();
  const best = median(inProcess);
  return `## Curation (\`src/services/curation/\`)

Written by \`npm run bench -- curation\` on ${new Date().toISOString()}, on ${cpus()[0]?.model ?? 'an unknown CPU'} × ${cpus().length} cores,
${(totalmem() / 1e9).toFixed(0)} GB memory, ${platform()} ${release()}, Node ${process.version}, load average ${loadavg()[0]?.toFixed(1)} at the end
(a shared machine: other work ran beside it); one fsync of 4 KB took ${ms(fsyncBefore)} (p50) before the run and ${ms(fsyncAfter)} after.

**Throughput with an instant judge.** ${DIALOGUES} finished dialogues (4 turns each, prompts of about
3.5 KB) curated from the interaction log in runs of ${BATCH}: three verdicts per dialogue, each stored
(SQLite) before the samples are appended (write + fsync per persona's file), then the cursor moved;
the manifests and anchors at the end of each run. Median of ${ROUNDS} rounds, each on a fresh folder.

| judge | dialogues/s | per dialogue |
|---|---|---|
| in process, answering at once (the ceiling the writes set) | ${best.toFixed(0)} | ${ms(1000 / best)} |
| the real \`@langchain/ollama\` client against the Ollama emulator, answering at once | ${median(overHttp).toFixed(0)} | ${ms(1000 / median(overHttp))} |

With an instant judge a run is bound by fsync: each dialogue commits three verdicts and the cursor
(SQLite, synchronous) and appends to up to three files, about seven fsyncs, so these numbers follow
the disk (they varied fourfold between runs on this shared machine). A real judge (an 8B model
on a GPU) takes seconds per verdict, three verdicts a dialogue: the writes are under 1% of that, so a
run is bounded by the judge, never by the files.

**The golden store at ${SAMPLES.toLocaleString('en-US')} samples** (one persona's set, samples of about 3.7 KB):

| measure | value |
|---|---|
${scale.join('\n')}

An append is O(1) in the set's size (an in-memory hash set, a running sha256); only a start whose
manifest does not match the file, the first append of a process and a forget read the whole set.
`;
}
