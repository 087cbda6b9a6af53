import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Clock } from '../clock.ts';
import { writeFileDurably } from '../durableWrite.ts';
import { CappedLines, MAX_LINE_BYTES } from './cappedLines.ts';
import type { TrainerExport } from './registrar.ts';
import { trainerEnvironment } from './trainerEnv.ts';
import { checkOutput } from './trainerOutput.ts';

export { ADAPTER_FILES, isInside } from './trainerOutput.ts';

/**
 * Runs the trainer as a child process and follows its contract (README, "Fine-tuning"):
 *
 *     <FINETUNE_COMMAND> --dataset <train.jsonl> --base <hugging face id> --output <dir>
 *                        --export adapter|merged|both [--config <file>]
 *
 * stdout carries one JSON event per line — `start`, `progress`, `done` or `error` — and nothing
 * else; stderr is its log. Exit 0 only on success, with `<adapter_dir>/adapter_model.safetensors`
 * and `<adapter_dir>/adapter_config.json` written (unless only merged weights were asked for),
 * and, when merged weights were written, `merged_dir` a Hugging Face safetensors folder. Both
 * folders lie inside `--output`: the job's folder is all the bot reads, shares and cleans
 * (`trainerOutput.ts` checks them, links refused).
 *
 * The trainer is a guest: it gets only the environment training needs (`trainerEnv.ts`), and a
 * line it prints is never held whole past 64 KB (`cappedLines.ts`).
 */

export type TrainerEvent =
  | { event: 'start'; total_steps: number }
  | {
      event: 'progress';
      step: number;
      total_steps: number;
      loss: number | null;
      learning_rate?: number;
      elapsed_s?: number;
    }
  | { event: 'done'; adapter_dir: string; merged_dir?: string; final_loss: number | null; steps: number }
  | { event: 'error'; message: string };

export type TrainerOutcome =
  | {
      ok: true;
      adapterDir: string;
      /** The merged weights' folder, when the trainer wrote them. */
      mergedDir?: string;
      finalLoss: number | null;
      steps: number;
      malformed: number;
    }
  | { ok: false; reason: string; tail: string; malformed: number };

/** How long a trainer has to stop after SIGTERM before SIGKILL. */
const KILL_GRACE_MS = 10_000;
/** Lines of the trainer's log kept for a failed job's report, and how much of each (the log file keeps them whole). */
const TAIL_LINES = 30;
const TAIL_LINE_CHARS = 1000;

/**
 * Splits a command line into words, honouring single and double quotes; no shell is involved
 * (pipes, redirections and variables need a wrapper script).
 */
export function commandWords(command: string): string[] {
  const words: string[] = [];
  for (const match of command.matchAll(/"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g)) {
    words.push(match[1]?.replace(/\\(.)/g, '$1') ?? match[2] ?? match[3] ?? '');
  }
  return words;
}

/** Reads one stdout line; anything that is not a known event is malformed (logged, not fatal). */
export function readEvent(line: string): TrainerEvent | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (!parsed || typeof parsed !== 'object') return undefined;
  const event = parsed as Record<string, unknown>;
  const finite = (value: unknown) => typeof value === 'number' && Number.isFinite(value);
  switch (event.event) {
    case 'start':
      return finite(event.total_steps) ? (event as TrainerEvent) : undefined;
    case 'progress':
      return finite(event.step) && finite(event.total_steps) ? (event as TrainerEvent) : undefined;
    case 'done':
      return typeof event.adapter_dir === 'string' &&
        (event.merged_dir === undefined || typeof event.merged_dir === 'string')
        ? (event as TrainerEvent)
        : undefined;
    case 'error':
      return typeof event.message === 'string' ? (event as TrainerEvent) : undefined;
    default:
      return undefined;
  }
}

export interface TrainerRequest {
  command: string;
  dataset: string;
  base: string;
  output: string;
  /** What to write: the adapter, the adapter merged into the base, or both (the default). */
  export?: TrainerExport;
  /** Trainer settings, written to `<folder>/config.json` and passed as `--config`. */
  config?: Record<string, unknown>;
  /** Where the trainer's log goes (stderr and malformed stdout lines). */
  logPath: string;
  timeoutMs: number;
  clock: Clock;
  signal?: AbortSignal;
  cwd?: string;
  /** The environment the trainer's is taken from (the bot's): it gets only what training needs of it. */
  environment: Readonly<Record<string, string | undefined>>;
  /** Names passed besides those training needs (`FINETUNE_ENV`: a name, or a prefix ending in `*`). */
  passEnv?: readonly string[];
  onEvent: (event: TrainerEvent) => void;
  /** Told of each line (stdout or stderr) over the 64 KB cap, once, with its length, after it was cut. */
  onOverlong?: (stream: 'stdout' | 'stderr', bytes: number) => void;
  /** Told the trainer's process id once it runs (its process group, to stop it after a crash). */
  onSpawn?: (pid: number) => void;
}

export async function runTrainer(request: TrainerRequest): Promise<TrainerOutcome> {
  const [program, ...prefix] = commandWords(request.command);
  if (!program) return { ok: false, reason: 'FINETUNE_COMMAND is empty', tail: '', malformed: 0 };
  const args = [
    ...prefix,
    ...['--dataset', request.dataset, '--base', request.base, '--output', request.output],
    ...['--export', request.export ?? 'both'],
  ];
  if (request.config && Object.keys(request.config).length > 0) {
    const configPath = join(request.output, '..', 'config.json');
    writeFileDurably(configPath, `${JSON.stringify(request.config, null, 2)}\n`);
    args.push('--config', configPath);
  }
  const log = createWriteStream(request.logPath, { flags: 'a' });
  const tail: string[] = [];
  const note = (line: string) => {
    log.write(`${line}\n`);
    tail.push(line.length > TAIL_LINE_CHARS ? `${line.slice(0, TAIL_LINE_CHARS)}…` : line);
    if (tail.length > TAIL_LINES) tail.shift();
  };
  note(`$ ${[program, ...args].join(' ')}`);

  // Its own process group, so a timeout stops the trainer and whatever it started.
  const child = spawn(program, args, {
    cwd: request.cwd,
    env: trainerEnvironment(request.environment, request.passEnv),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: process.platform !== 'win32',
  });
  if (child.pid) request.onSpawn?.(child.pid);
  const kill = (signal: NodeJS.Signals) => {
    try {
      if (child.pid && process.platform !== 'win32') process.kill(-child.pid, signal);
      else child.kill(signal);
    } catch {
      // Already gone.
    }
  };
  let malformed = 0;
  let done: Extract<TrainerEvent, { event: 'done' }> | undefined;
  let failed: string | undefined;
  const overlong = (stream: 'stdout' | 'stderr') => (bytes: number, head: string) => {
    note(`(a line of ${bytes} bytes on ${stream}, longer than ${MAX_LINE_BYTES} bytes, was cut) ${head}`);
    request.onOverlong?.(stream, bytes);
  };
  readLines(child.stdout, {
    onLine: (line) => {
      const event = readEvent(line);
      if (!event) {
        if (line.trim()) {
          malformed++;
          note(`(not a trainer event) ${line.slice(0, 500)}`);
        }
        return;
      }
      if (event.event === 'done') done = event;
      if (event.event === 'error') {
        failed = event.message;
        note(`error: ${event.message}`);
      }
      request.onEvent(event);
    },
    onOverlong: overlong('stdout'),
  });
  readLines(child.stderr, { onLine: note, onOverlong: overlong('stderr') });

  const stop = new AbortController();
  let stoppedFor: string | undefined;
  const deadline = request.clock.sleep(request.timeoutMs, stop.signal).then(
    () => 'timeout' as const,
    () => undefined,
  );
  const aborted = new Promise<'aborted'>((resolve) => {
    if (request.signal?.aborted) resolve('aborted');
    request.signal?.addEventListener('abort', () => resolve('aborted'), { once: true });
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>(
    (resolve) => {
      child.once('error', (error) => resolve({ code: null, signal: null, error }));
      child.once('close', (code, signal) => resolve({ code, signal }));
    },
  );
  const first = await Promise.race([exited, deadline, aborted]);
  if (first === 'timeout' || first === 'aborted') {
    stoppedFor =
      first === 'timeout'
        ? `the trainer ran past FINETUNE_TIMEOUT (${Math.round(request.timeoutMs / 60_000)} min) and was stopped`
        : 'the bot is shutting down; the trainer was stopped';
    note(stoppedFor);
    kill('SIGTERM');
    const grace = request.clock.sleep(KILL_GRACE_MS, stop.signal).then(
      () => kill('SIGKILL'),
      () => undefined,
    );
    await exited;
    void grace;
  }
  stop.abort();
  const exit = await exited;
  await new Promise<void>((resolve) => log.end(() => resolve()));
  return outcomeOf({ stoppedFor, exit, failed, done, tail: tail.join('\n'), malformed }, request);
}

/** Reads a child's output line by line, each line capped at 64 KB (`cappedLines.ts`). */
function readLines(
  stream: Readable,
  handlers: { onLine: (line: string) => void; onOverlong: (bytes: number, head: string) => void },
): void {
  const lines = new CappedLines(handlers);
  stream.on('data', (chunk: Buffer) => lines.push(chunk));
  stream.on('end', () => lines.end());
}

/** What the run came to, from how the trainer ended and the folders it named. */
async function outcomeOf(
  run: {
    stoppedFor: string | undefined;
    exit: { code: number | null; signal: NodeJS.Signals | null; error?: Error };
    failed: string | undefined;
    done: Extract<TrainerEvent, { event: 'done' }> | undefined;
    tail: string;
    malformed: number;
  },
  request: Pick<TrainerRequest, 'output' | 'export'>,
): Promise<TrainerOutcome> {
  const { stoppedFor, exit, failed, done, tail: lastLines, malformed } = run;
  if (stoppedFor) return { ok: false, reason: stoppedFor, tail: lastLines, malformed };
  if (exit.error) {
    return {
      ok: false,
      reason: `the trainer could not start: ${exit.error.message}`,
      tail: lastLines,
      malformed,
    };
  }
  if (exit.code !== 0) {
    const how = exit.signal ? `was killed (${exit.signal})` : `exited with ${exit.code}`;
    return {
      ok: false,
      reason: failed ? `the trainer failed: ${failed}` : `the trainer ${how}`,
      tail: lastLines,
      malformed,
    };
  }
  if (!done)
    return { ok: false, reason: 'the trainer exited without a done event', tail: lastLines, malformed };
  const wrong = await checkOutput(done, request.output, request.export ?? 'both');
  if (wrong) return { ok: false, reason: wrong, tail: lastLines, malformed };
  return {
    ok: true,
    adapterDir: done.adapter_dir,
    ...(done.merged_dir ? { mergedDir: done.merged_dir } : {}),
    finalLoss: done.final_loss,
    steps: done.steps,
    malformed,
  };
}
