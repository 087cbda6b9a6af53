import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, readdirSync, realpathSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { Clock } from '../clock.ts';
import { writeFileDurably } from '../durableWrite.ts';
import type { TrainerExport } from './registrar.ts';

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
 * folders lie inside `--output`: the job's folder is all the bot reads, shares and cleans.
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

/** The files an adapter must have (PEFT's layout), as Ollama's `ADAPTER` reads them. */
export const ADAPTER_FILES = ['adapter_model.safetensors', 'adapter_config.json'] as const;

/** How long a trainer has to stop after SIGTERM before SIGKILL. */
const KILL_GRACE_MS = 10_000;
/** Lines of the trainer's log kept for a failed job's report. */
const TAIL_LINES = 30;

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
  env?: NodeJS.ProcessEnv;
  onEvent: (event: TrainerEvent) => void;
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
    tail.push(line);
    if (tail.length > TAIL_LINES) tail.shift();
  };
  note(`$ ${[program, ...args].join(' ')}`);

  // Its own process group, so a timeout stops the trainer and whatever it started.
  const child = spawn(program, args, {
    cwd: request.cwd,
    // The trainer inherits the bot's environment (HF_TOKEN, CUDA_VISIBLE_DEVICES…) unless told otherwise.
    ...(request.env ? { env: request.env } : {}),
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
  createInterface({ input: child.stdout }).on('line', (line) => {
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
  });
  createInterface({ input: child.stderr }).on('line', (line) => note(line));

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

/** What the run came to, from how the trainer ended and the folders it named. */
function outcomeOf(
  run: {
    stoppedFor: string | undefined;
    exit: { code: number | null; signal: NodeJS.Signals | null; error?: Error };
    failed: string | undefined;
    done: Extract<TrainerEvent, { event: 'done' }> | undefined;
    tail: string;
    malformed: number;
  },
  request: Pick<TrainerRequest, 'output' | 'export'>,
): TrainerOutcome {
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
  const wrong = checkOutput(done, request.output, request.export ?? 'both');
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

/** A path with its links followed, where it exists (a link inside `--output` may point out of it). */
const real = (path: string) => {
  const absolute = resolve(path);
  return existsSync(absolute) ? realpathSync.native(absolute) : absolute;
};

/** Whether `path` is `root` or lies inside it. */
export function isInside(path: string, root: string): boolean {
  const inside = relative(real(root), real(path));
  return inside === '' || (!inside.startsWith('..') && !isAbsolute(inside));
}

/** What is wrong with the folders a `done` event names, if anything. */
function checkOutput(
  done: Extract<TrainerEvent, { event: 'done' }>,
  output: string,
  wanted: TrainerExport,
): string | undefined {
  for (const [what, dir] of [
    ['adapter_dir', done.adapter_dir],
    ['merged_dir', done.merged_dir],
  ] as const) {
    if (dir !== undefined && !isInside(dir, output))
      return `the trainer's ${what} (${dir}) lies outside its --output folder (${output})`;
  }
  if (wanted !== 'merged') {
    const missing = ADAPTER_FILES.filter((file) => !existsSync(join(done.adapter_dir, file)));
    if (missing.length) return `the adapter lacks ${missing.join(' and ')}`;
  }
  if (done.merged_dir !== undefined) {
    const files = existsSync(done.merged_dir) ? readdirSync(done.merged_dir) : [];
    const lacks = [
      ...(files.includes('config.json') ? [] : ['config.json']),
      ...(files.some((file) => file.endsWith('.safetensors')) ? [] : ['*.safetensors weights']),
    ];
    if (lacks.length) return `the merged weights (${done.merged_dir}) lack ${lacks.join(' and ')}`;
  } else if (wanted === 'merged')
    return 'the trainer wrote no merged weights (no merged_dir in its done event)';
  return undefined;
}
