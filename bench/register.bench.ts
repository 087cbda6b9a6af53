/**
 * Registering an 8B-sized merged model with a current Ollama (the emulator, which hashes each
 * blob as it streams in and keeps nothing): 16 GB of fp16 shards (four sparse files of 4 GB: no
 * disk space, zeros when read), config and tokenizer beside them, each hashed and pushed as a blob,
 * then `/api/create` with `files` + `quantize`. Reported: bytes, time, throughput, the event
 * loop's longest stall while it runs (target under 50 ms: the bot keeps talking meanwhile) and the
 * memory it took. Then the same again, every blob already there (only hashed). Part of
 * `npm run bench` (`npm run bench -- register` alone).
 */
import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createOllamaRegistrar } from '../src/services/finetune/ollamaRegistrar.ts';
import type { Registration } from '../src/services/finetune/registrar.ts';
import { formatBytes } from '../src/shared/text.ts';
import { OllamaEmulator } from '../tests/support/ollamaEmulator.ts';

const SHARDS = 4;
const SHARD_BYTES = 4 * 1024 ** 3;
const STALL_TARGET_MS = 50;
const BASE = 'llama3.1:8b';

/**
 * An idle Node process beside the bench, timing its own 1 ms timer: the stalls the machine itself
 * causes (other processes on shared cores), which no code of ours can remove.
 */
const IDLE_PROBE = `let last = performance.now(), stall = 0;
const t = setInterval(() => { const now = performance.now(); stall = Math.max(stall, now - last); last = now; }, 1);
process.stdin.on('data', () => { clearInterval(t); process.stdout.write(String(stall)); process.exit(0); });`;

function idleProbe(): { stop: () => Promise<number> } {
  const child = spawn(process.execPath, ['-e', IDLE_PROBE], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  return {
    async stop() {
      child.stdin.write('stop\n');
      await exited;
      return Number(out);
    },
  };
}

/**
 * The main thread's time on a core and waiting for one, in ns, from Linux's schedstat (undefined
 * elsewhere). Between two turns of a timer, the time on a core is how long the loop ran code
 * without giving the timer its turn: the stall our code causes, whatever the machine adds.
 */
const SCHEDSTAT = '/proc/thread-self/schedstat';
const haveSchedstat = existsSync(SCHEDSTAT);
function schedstat(): { run: number; wait: number } | undefined {
  if (!haveSchedstat) return undefined;
  const [run = 0, wait = 0] = readFileSync(SCHEDSTAT, 'utf8').split(' ').map(Number);
  return { run, wait };
}

interface Run {
  registration: Registration;
  seconds: number;
  /** Longest gap between two turns of a 1 ms timer, and the histogram's p99 and max, ms. */
  stall: number;
  p99: number;
  max: number;
  /** Highest resident memory above the start, bytes. */
  rss: number;
  /** The longest stall of an idle process beside it, ms: the machine's share. */
  idle: number;
  /** The most time on a core, and waiting for one, between two turns of the timer, ms (Linux). */
  busy: number | undefined;
  waited: number | undefined;
}

/** Registers once, watching the event loop (a 1 ms timer and Node's delay histogram) and the memory. */
async function measure(register: () => Promise<Registration>): Promise<Run> {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  const rssBefore = process.memoryUsage().rss;
  let rss = rssBefore;
  let stall = 0;
  let busy = 0;
  let waited = 0;
  let last = performance.now();
  let lastSched = schedstat();
  const probe = setInterval(() => {
    const now = performance.now();
    stall = Math.max(stall, now - last);
    last = now;
    const sched = schedstat();
    if (sched && lastSched) {
      busy = Math.max(busy, (sched.run - lastSched.run) / 1e6);
      waited = Math.max(waited, (sched.wait - lastSched.wait) / 1e6);
    }
    lastSched = sched;
    rss = Math.max(rss, process.memoryUsage().rss);
  }, 1);
  // The probe's own start is not the registration's.
  await new Promise((resolve) => setTimeout(resolve, 200));
  last = performance.now();
  stall = 0;
  busy = 0;
  waited = 0;
  histogram.enable();
  const idle = idleProbe();
  const started = performance.now();
  try {
    const registration = await register();
    return {
      idle: await idle.stop(),
      busy: haveSchedstat ? busy : undefined,
      waited: haveSchedstat ? waited : undefined,
      registration,
      seconds: (performance.now() - started) / 1000,
      stall,
      p99: histogram.percentile(99) / 1e6,
      max: histogram.max / 1e6,
      rss: rss - rssBefore,
    };
  } finally {
    clearInterval(probe);
    histogram.disable();
  }
}

const ms = (value: number | undefined) => (value === undefined ? 'n/a' : `${value.toFixed(1)} ms`);
const mark = (value: number | undefined) =>
  value === undefined ? '' : value < STALL_TARGET_MS ? ' ✅' : ' ❌';

const row = (label: string, run: Run) =>
  [
    label,
    formatBytes(run.registration.bytes),
    `${run.registration.uploaded} sent, ${run.registration.reused} there`,
    `${run.seconds.toFixed(1)} s`,
    `${formatBytes((run.registration.bytes || SHARDS * SHARD_BYTES) / run.seconds)}/s`,
    `${ms(run.busy)}${mark(run.busy)}`,
    `${ms(run.stall)} (${ms(run.waited)} waiting for a core)`,
    ms(run.idle),
    `${ms(run.p99)} / ${ms(run.max)}`,
    formatBytes(run.rss),
  ].join(' | ');

export async function benchRegister(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'bat-register-'));
  const emulator = await OllamaEmulator.start({ models: [BASE] });
  try {
    const merged = join(dir, 'merged');
    mkdirSync(merged);
    writeFileSync(join(merged, 'config.json'), JSON.stringify({ architectures: ['LlamaForCausalLM'] }));
    writeFileSync(join(merged, 'tokenizer.json'), JSON.stringify({ model: { type: 'BPE' } }));
    for (let i = 1; i <= SHARDS; i++) {
      const shard = join(merged, `model-0000${i}-of-0000${SHARDS}.safetensors`);
      writeFileSync(shard, `shard ${i}`);
      truncateSync(shard, SHARD_BYTES);
    }
    const registrar = createOllamaRegistrar({ host: emulator.url, timeoutMs: 300_000, quantize: 'q4_K_M' });
    const request = (name: string) => ({
      name,
      from: BASE,
      base: 'meta-llama/Llama-3.1-8B-Instruct',
      adapterDir: dir,
      mergedDir: merged,
    });
    const first = await measure(() => registrar.register(request('batos-bench-v1')));
    const again = await measure(() => registrar.register(request('batos-bench-v2')));
    const created = emulator.created.get('batos-bench-v1:latest');
    if (!created || Object.keys(created.files).length !== SHARDS + 2)
      throw new Error('the model was not created from every file');
    return [
      '## Registering an 8B merged model with Ollama',
      '',
      `${SHARDS} sparse fp16 shards of ${formatBytes(SHARD_BYTES)} (${formatBytes(SHARDS * SHARD_BYTES)}) with config.json and tokenizer.json,`,
      'registered with the Ollama emulator in the same process (it hashes each blob as it streams in and keeps',
      'only its size): each file hashed, `HEAD`, streamed from disk (`http.request` + pipeline), then',
      '`/api/create` with `files` + `quantize: q4_K_M`. A 1 ms timer measures the event loop: the stall is the',
      "main thread's time on a core between two of its turns (Linux's schedstat): how long the loop ran code",
      'before the timer got its turn. The wall-clock gap adds the time the thread waited for a core, which the',
      "machine decides; an idle Node process beside it times its own 1 ms timer, the machine's share alone.",
      'The histogram is `monitorEventLoopDelay` (10 ms resolution, wall clock).',
      '',
      '| run | uploaded | files | time | throughput | longest stall (on a core) | longest gap (wall) | idle process beside it | loop delay p99 / max | memory taken |',
      '|---|---|---|---|---|---|---|---|---|---|',
      `| ${row('first (every blob sent)', first)} |`,
      `| ${row('again (every blob there: hashed only)', again)} |`,
      '',
      `Target: the event loop never stalls ${STALL_TARGET_MS} ms or more. The time is the client's hashing, once per`,
      'file, and the emulator hashing what it receives, on the same cores: a real Ollama hashes in its own process.',
      'The memory taken is the peak resident memory above the start, emulator included: the shards are never held.',
    ].join('\n');
  } finally {
    await emulator.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
