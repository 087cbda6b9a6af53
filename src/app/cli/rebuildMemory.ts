import { loadConfig, loadDotEnv } from '../../services/config.ts';
import { findAppError } from '../../services/errors.ts';
import { createLogger } from '../../services/logger.ts';
import { composeRuntime } from '../compose.ts';

/**
 * `npm run memory:rebuild`: re-embeds every recorded dialogue into a fresh vector index, e.g.
 * after changing EMBED_MODEL. Stop the bot first.
 */
async function main(): Promise<number> {
  loadDotEnv();
  const config = loadConfig();
  const runtime = await composeRuntime(config, createLogger({ level: 'warn', format: config.logFormat }));
  try {
    const before = await runtime.memory.stats();
    process.stdout.write(`Re-embedding ${before.dialogues} dialogues with ${config.embedModel}…\n`);
    const started = runtime.clock.now();
    const count = await runtime.memory.rebuild();
    process.stdout.write(
      `Rebuilt the memory index: ${count} dialogues in ${((runtime.clock.now() - started) / 1000).toFixed(1)} s.\n`,
    );
    return 0;
  } catch (error) {
    process.stderr.write(
      `Could not rebuild the memory index: ${findAppError(error)?.message ?? String(error)}\n`,
    );
    return 1;
  } finally {
    await runtime.close();
  }
}

process.exit(await main());
