// The bot as the dialogue benchmarks run it: a process of its own (so that its heap holds the
// bot and nothing of the emulators), from the compiled build with plain node as `npm start` runs
// it, composed exactly as `npm start` composes it (`composeApp`), with Discord's posting limits
// from BENCH_POSTING (JSON, the emulator's limits scaled alike) and discord.js's sweepers from
// BENCH_SWEEPERS (JSON). Run with `node --expose-gc` and
// an IPC channel. Messages in: `heap` (answers the live heap after a full collection),
// `snapshot` (writes a heap snapshot to `path`), `stop`.
// Messages out: `ready`, `heap`, `warning` (every process warning, such as
// MaxListenersExceededWarning).
import { writeHeapSnapshot } from 'node:v8';
import { composeApp } from '../../dist/src/app/compose.js';
import { loadConfig } from '../../dist/src/services/config.js';
import { createLogger } from '../../dist/src/services/logger.js';

const send = (message) => process.send?.(message);
process.on('warning', (warning) => send({ type: 'warning', name: warning.name, message: warning.message }));

const config = loadConfig();
const logger = createLogger({ level: config.logLevel });
const posting = process.env.BENCH_POSTING ? JSON.parse(process.env.BENCH_POSTING) : undefined;
const sweepers = process.env.BENCH_SWEEPERS ? JSON.parse(process.env.BENCH_SWEEPERS) : undefined;
const app = await composeApp(config, logger, {
  ...(posting ? { posting } : {}),
  ...(sweepers ? { sweepers } : {}),
});
await app.bot.start(config.discordToken ?? '');

const collect = globalThis.gc ?? (() => undefined);

/**
 * The heap after full collections. Finalization callbacks (fetch's per-request cleanup among
 * them) run in a task after the collection that found their objects dead: they are given that
 * task, and a second collection takes what they released.
 */
async function liveHeap() {
  for (let pass = 0; pass < 3; pass += 1) {
    collect();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  collect();
  const usage = process.memoryUsage();
  const threads = app.bot.client.channels.cache.filter((channel) => channel.isThread()).size;
  return { heapUsed: usage.heapUsed, rss: usage.rss, external: usage.external, threads };
}
process.on('message', (message) => {
  if (message.type === 'heap') {
    void liveHeap().then((usage) => send({ type: 'heap', ...usage }));
  } else if (message.type === 'snapshot') {
    // For finding what grows: a heap snapshot to compare (Chrome DevTools reads it).
    void liveHeap().then(() => send({ type: 'snapshot', path: writeHeapSnapshot(message.path) }));
  } else if (message.type === 'stop') {
    void app.close().then(() => process.exit(0));
  }
});
send({ type: 'ready' });
