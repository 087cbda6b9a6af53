/**
 * The tool sandbox's per-call overhead (issue: p50 ≤ 2 ms warm), measured against the floor of
 * calling the same function directly in Node, with the cold start reported. Part of `npm run bench`.
 */
import { createSandbox } from '../src/services/tools/sandbox.ts';

const TOOL = `function run(input) {
  const words = input.text.trim().split(/\\s+/);
  return { words: words[0] === '' ? 0 : words.length };
}`;
const INPUT = { text: 'the quick brown fox jumps over the lazy dog' };
const WARM_CALLS = 2000;
const COLD_STARTS = 5;

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
const fmt = (x: number) => (x < 0.01 ? `${(x * 1000).toFixed(2)} µs` : `${x.toFixed(x < 10 ? 2 : 0)} ms`);

export async function benchSandbox(): Promise<string> {
  // Cold: a fresh sandbox (worker thread + QuickJS WebAssembly module) for its first call.
  const colds: number[] = [];
  for (let i = 0; i < COLD_STARTS; i++) {
    const sandbox = createSandbox({ workers: 1 });
    const started = performance.now();
    const result = await sandbox.run(TOOL, INPUT);
    colds.push(performance.now() - started);
    if (!result.ok) throw new Error(`cold call failed: ${result.message}`);
    await sandbox.close();
  }
  colds.sort((a, b) => a - b);

  // Warm: one sandbox, sequential calls, each in a fresh QuickJS runtime with the limits set.
  const sandbox = createSandbox({ workers: 2 });
  for (let i = 0; i < 100; i++) await sandbox.run(TOOL, INPUT);
  const warm: number[] = [];
  const inside: number[] = [];
  for (let i = 0; i < WARM_CALLS; i++) {
    const started = performance.now();
    const result = await sandbox.run(TOOL, INPUT);
    warm.push(performance.now() - started);
    inside.push(result.ms);
  }
  warm.sort((a, b) => a - b);
  inside.sort((a, b) => a - b);

  // Throughput with both workers busy.
  const parallelStart = performance.now();
  await Promise.all(Array.from({ length: 1000 }, () => sandbox.run(TOOL, INPUT)));
  const perSecond = 1000 / ((performance.now() - parallelStart) / 1000);
  await sandbox.close();

  // The floor: the same function, compiled and called directly in Node (trusted here: it is ours).
  const direct = new Function(`${TOOL}; return run;`)() as (input: unknown) => unknown;
  const floor: number[] = [];
  for (let i = 0; i < 1000; i++) direct(INPUT);
  for (let i = 0; i < WARM_CALLS; i++) {
    const started = performance.now();
    JSON.stringify(direct(JSON.parse(JSON.stringify(INPUT))));
    floor.push(performance.now() - started);
  }
  floor.sort((a, b) => a - b);

  const p50 = percentile(warm, 0.5);
  const result = {
    coldMedian: percentile(colds, 0.5),
    p50,
    p99: percentile(warm, 0.99),
    insideP50: percentile(inside, 0.5),
    directP50: percentile(floor, 0.5),
    perSecond,
  };
  process.stdout.write(`sandbox: ${JSON.stringify(result)}\n`);
  const check = (ok: boolean) => (ok ? '✅' : '❌');
  return `## Tool sandbox (QuickJS on worker threads, \`src/services/tools/sandbox.ts\`)

A small word-counting tool, ${WARM_CALLS} sequential calls after 100 warm-up calls. Every call runs in a fresh
QuickJS runtime with its limits set (1 s deadline, 32 MB memory, 256 KB stack), on one of 2 worker threads; the
time is the whole round trip from the bot's thread: input to JSON, message to the worker, QuickJS, result back.
"Direct" is the same function compiled and called in Node itself, with the same JSON in and out (the floor).

| measure | value |
|---|---|
| warm call p50 | ${fmt(result.p50)} ${check(result.p50 <= 2)} |
| warm call p99 | ${fmt(result.p99)} |
| of which inside the worker (fresh runtime + call), p50 | ${fmt(result.insideP50)} |
| cold start (new worker + QuickJS module + first call), median of ${COLD_STARTS} | ${fmt(result.coldMedian)} |
| direct call in Node, p50 (the floor) | ${fmt(result.directP50)} |
| sandbox ÷ direct, p50 | ${(result.p50 / result.directP50).toFixed(0)}× |
| throughput, 2 workers | ${result.perSecond.toFixed(0)} calls/s |

Target: warm p50 ≤ 2 ms. The overhead is the price of isolation (a WebAssembly boundary, a thread hop, a fresh
runtime per call); a tool call sits beside a model call that takes seconds.
`;
}
