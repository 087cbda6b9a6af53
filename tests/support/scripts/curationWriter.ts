/**
 * Run with `node --import tsx … <data dir> <codex path> <ollama url>`: curates the interaction
 * log through the real runtime, a small batch at a time, printing `cursor <seq>` after each run,
 * then waits to be killed. A crash test kills it at random moments.
 */
import { join } from 'node:path';
import { composeRuntime } from '../../../src/app/compose.ts';
import { loadConfig } from '../../../src/services/config.ts';
import { createSilentLogger } from '../../../src/services/logger.ts';
import { FAST_RETRY } from '../fixtures.ts';

const [dataDir = '.', codexPath = '', ollamaHost = ''] = process.argv.slice(2);
const config = loadConfig({
  DATA_DIR: dataDir,
  CODEX_PATH: codexPath,
  OLLAMA_HOST: ollamaHost,
  FORGE_DIR: join(dataDir, '..', 'tools'),
  LOG_LEVEL: 'silent',
  CURATION_BATCH: '3',
  CURATION_ANCHOR_SIZE: '5',
});
const runtime = await composeRuntime(config, createSilentLogger(), { retry: FAST_RETRY });
// As the bot does at start: a line a kill tore is cut before anything is appended.
await runtime.curation.start();
// The model client loads with the first call: loaded before `ready`, so that the kills land in
// the writes, not in a module's loading.
await import('@langchain/ollama');
process.stdout.write('ready\n');
for (;;) {
  const report = await runtime.curation.run();
  process.stdout.write(`cursor ${report.cursor}\n`);
  if (report.dialogues === 0 && !report.more) break;
}
process.stdout.write('done\n');
setInterval(() => undefined, 1 << 30);
