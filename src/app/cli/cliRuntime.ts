import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { type Config, loadConfig, loadDotEnv } from '../../services/config.ts';
import { createLogger } from '../../services/logger.ts';
import { composeRuntime, type Runtime } from '../compose.ts';

/**
 * A terminal program's log: `DATA_DIR/logs/<name>.log`, written as it goes (the terminal is for
 * people). A file is no terminal: JSON, unless LOG_FORMAT says pretty.
 */
export function cliLogger(config: Config, name: string) {
  const dir = join(config.dataDir, 'logs');
  mkdirSync(dir, { recursive: true });
  return createLogger({
    level: config.logLevel,
    format: config.logFormat,
    destination: pino.destination({ dest: join(dir, `${name}.log`), sync: true }),
  });
}

/**
 * Reads the settings (.env too) and builds the runtime for a terminal program; a bad setting or
 * codex is said on `err` in `describe`'s words, and nothing is returned.
 */
export async function openCliRuntime(
  name: string,
  err: NodeJS.WritableStream,
  describe: (error: unknown) => string,
): Promise<Runtime | undefined> {
  try {
    loadDotEnv();
    const config = loadConfig();
    return await composeRuntime(config, cliLogger(config, name));
  } catch (error) {
    err.write(`error: ${describe(error)}\n`);
    return undefined;
  }
}
