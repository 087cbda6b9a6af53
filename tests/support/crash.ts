import { spawn } from 'node:child_process';
import { REPO_ROOT } from './fixtures.ts';

/**
 * Kills a writer with SIGKILL at a random moment of its work, again and again, and checks what
 * it left on disk after each kill. The writer is a script (`node --import tsx <script> <args>`)
 * that prints a line each time it finishes a unit of work; the kill lands a random number of
 * microseconds after its first line, so most land mid-write.
 */
export async function crashRepeatedly(options: {
  script: string;
  args: (attempt: number) => string[];
  kills: number;
  /** After each kill: throws when what was left is torn or lost. */
  check: (attempt: number, completed: string[]) => void | Promise<void>;
  /** Longest wait after the writer's first line before the kill, in ms (default 40). */
  maxDelayMs?: number;
  env?: Record<string, string>;
}): Promise<{ kills: number; completed: number }> {
  let completedTotal = 0;
  for (let attempt = 0; attempt < options.kills; attempt++) {
    const child = spawn(process.execPath, ['--import', 'tsx', options.script, ...options.args(attempt)], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, ...options.env },
    });
    const completed: string[] = [];
    let buffer = '';
    const started = new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        buffer += chunk.toString();
        const lines = buffer.split('\n');
        buffer = lines.pop() ?? '';
        completed.push(...lines);
        if (completed.length > 0) resolve();
      });
      child.once('exit', (code) => reject(new Error(`the writer exited (${code}) before it started`)));
    });
    await started;
    await new Promise((resolve) => setTimeout(resolve, Math.random() * (options.maxDelayMs ?? 40)));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    completedTotal += completed.length;
    await options.check(attempt, completed);
  }
  return { kills: options.kills, completed: completedTotal };
}
