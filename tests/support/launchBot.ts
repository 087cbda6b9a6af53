import { type ChildProcess, spawn } from 'node:child_process';
import { REPO_ROOT } from './fixtures.ts';

/** A line of the bot's JSON log (`LOG_FORMAT=json`), the fields the process tests read. */
export interface LogLine {
  msg: string;
  shard?: string;
  module?: string;
  job?: string;
}

export interface LaunchedBot {
  child: ChildProcess;
  /** Resolves with the exit code once the process has closed. */
  exited: Promise<number | null>;
  /** Everything it wrote, standard output and error together. */
  output(): string;
  /** Its JSON log lines so far. */
  lines(): LogLine[];
}

/**
 * `npm start` as a process of its own, from the sources (`node --import tsx src/app/main.ts`),
 * with only `env` (and PATH, HOME) in its environment; killed after `limitMs` whatever happens.
 */
export function launchBot(env: Record<string, string>, limitMs = 90_000): LaunchedBot {
  return launchEntry('src/app/main.ts', env, limitMs);
}

/** One of the package's entry points (`npm start`, `npm run …`), launched as {@link launchBot} is. */
export function launchEntry(script: string, env: Record<string, string>, limitMs: number): LaunchedBot {
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  setTimeout(() => child.kill('SIGKILL'), limitMs).unref();
  const lines = (): LogLine[] =>
    output.split('\n').flatMap((line) => {
      try {
        return [JSON.parse(line) as LogLine];
      } catch {
        return [];
      }
    });
  return { child, exited, output: () => output, lines };
}
