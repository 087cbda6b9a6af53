import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import pino from 'pino';
import { type Config, loadConfig, loadDotEnv } from '../../services/config.ts';
import { createLogger, type Logger, pickLogFormat } from '../../services/logger.ts';
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

/** What a dry run never reads, left out of its copy: the fine-tunes' weights, the logs, the conversations. */
const NOT_COPIED = new Set([
  'finetune',
  'logs',
  'checkpoints.sqlite',
  'checkpoints.sqlite-wal',
  'checkpoints.sqlite-shm',
]);

/**
 * A copy of the data folder in a temporary one, for a run that must write nothing: opening a
 * SQLite file in place creates its -wal and -shm beside it, a missing store is created, and
 * the memory index saves itself on close. The copy takes all of that and is removed after.
 */
function scratchCopy(dataDir: string): string {
  const scratch = mkdtempSync(join(tmpdir(), 'bat-os-dry-run-'));
  if (existsSync(dataDir)) {
    cpSync(dataDir, scratch, {
      recursive: true,
      filter: (source) => !NOT_COPIED.has(relative(dataDir, source).split(sep)[0] ?? ''),
    });
  }
  return scratch;
}

export interface CliRuntimeOptions {
  /**
   * Leave DATA_DIR exactly as it is (a dry run): the runtime works on a copy of it, removed when
   * the runtime closes, and its log's warnings and errors go to `err` instead of a file.
   */
  readOnly?: boolean;
}

/**
 * Reads the settings (.env too) and builds the runtime for a terminal program; a bad setting or
 * codex is said on `err` in `describe`'s words, and nothing is returned.
 */
export async function openCliRuntime(
  name: string,
  err: NodeJS.WritableStream,
  describe: (error: unknown) => string,
  options: CliRuntimeOptions = {},
): Promise<Runtime | undefined> {
  let scratch: string | undefined;
  try {
    loadDotEnv();
    const config = loadConfig();
    // Its memory index snapshots apart from the bot's beside it: each removes snapshots not its own.
    if (!options.readOnly)
      return await composeRuntime(config, cliLogger(config, name), { memoryScope: name });
    scratch = scratchCopy(config.dataDir);
    const runtime = await composeRuntime({ ...config, dataDir: scratch }, readOnlyLogger(config, err));
    const { close } = runtime;
    const copy = scratch;
    return {
      ...runtime,
      async close() {
        try {
          await close();
        } finally {
          rmSync(copy, { recursive: true, force: true });
        }
      },
    };
  } catch (error) {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
    err.write(`error: ${describe(error)}\n`);
    return undefined;
  }
}

/** A read-only run's log: nothing is kept, so what goes wrong is said on the terminal. */
function readOnlyLogger(config: Config, err: NodeJS.WritableStream): Logger {
  return createLogger({
    level: ['error', 'fatal', 'silent'].includes(config.logLevel) ? config.logLevel : 'warn',
    format: pickLogFormat(config.logFormat, (err as { isTTY?: boolean }).isTTY === true),
    destination: err,
  });
}
