import type { Worker } from 'node:worker_threads';
import type { SandboxFailureKind, SandboxLimits, SandboxResult } from './sandboxLimits.ts';

/**
 * One worker thread of the sandbox and the call it runs: the worker is started on demand, and a
 * watchdog terminates it when it stays silent past the call's deadline (a loop QuickJS could not
 * interrupt), when it crashes, or when the call is cancelled; the next call starts a fresh one.
 */

/** A call waiting for, or running on, a worker. */
export interface SandboxJob {
  id: number;
  code: string;
  /** The input as JSON. */
  input: string;
  resolve(result: SandboxResult): void;
  signal?: AbortSignal | undefined;
  /** When the call was asked for (`performance.now()`). */
  started: number;
}

interface WorkerReply {
  id: number;
  /** The worker has begun the call (its QuickJS module is ready): the deadline starts now. */
  started?: true;
  ms: number;
  ok: boolean;
  json?: string;
  kind?: SandboxFailureKind;
  message?: string;
  /** The call succeeded but filled the worker's memory to its cap: start afresh. */
  recycle?: boolean;
}

/** How long past its deadline a worker may stay silent before it is terminated. */
const WATCHDOG_GRACE_MS = 1000;

/** How long a worker may take to start a call (a new thread, a new QuickJS module) before it is terminated. */
const STARTUP_GRACE_MS = 30_000;

/** Failures after which the worker is replaced rather than reused. */
const RECYCLE = new Set<SandboxFailureKind>(['timeout', 'memory', 'stack', 'too_large', 'crashed']);

const WORKER_URL = new URL('./sandboxWorker.mjs', import.meta.url);

/** A failed call's result, timed from when it was asked for. */
export function failedJob(job: SandboxJob, kind: SandboxFailureKind, message: string): SandboxResult {
  return { ok: false, kind, message, ms: performance.now() - job.started };
}

export class SandboxSlot {
  private worker: Worker | undefined;
  private job: SandboxJob | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  /** Removes the job's abort listener (signals outlive calls: no listener may pile up). */
  private unlisten: (() => void) | undefined;

  constructor(
    private readonly limits: SandboxLimits,
    private readonly createWorker: (url: URL) => Worker,
    /** Called whenever the slot falls free, to start the next job. */
    private readonly onFree: () => void,
  ) {}

  get busy(): boolean {
    return this.job !== undefined;
  }

  /** Runs a job on this (free) slot's worker, starting one if there is none. */
  start(job: SandboxJob): void {
    this.job = job;
    if (job.signal?.aborted) {
      job.resolve(failedJob(job, 'aborted', 'the call was cancelled'));
      this.release();
      return;
    }
    this.worker ??= this.spawn();
    this.worker.ref();
    // Until the worker says it has begun, only a stuck start is guarded against.
    this.armWatchdog(job, STARTUP_GRACE_MS);
    const onAbort = () => {
      if (this.job !== job) return;
      this.kill();
      job.resolve(failedJob(job, 'aborted', 'the call was cancelled'));
      this.release();
    };
    if (job.signal) {
      const signal = job.signal;
      signal.addEventListener('abort', onAbort, { once: true });
      this.unlisten = () => signal.removeEventListener('abort', onAbort);
    }
    this.worker.postMessage({ id: job.id, code: job.code, input: job.input, limits: this.limits });
  }

  /** Ends the call in flight as `aborted` and terminates the worker. */
  async close(): Promise<void> {
    const job = this.job;
    const worker = this.worker;
    clearTimeout(this.watchdog);
    this.job = undefined;
    this.worker = undefined;
    if (job) job.resolve(failedJob(job, 'aborted', 'the sandbox is closed'));
    if (worker) {
      worker.removeAllListeners();
      await worker.terminate();
    }
  }

  private release(): void {
    clearTimeout(this.watchdog);
    this.unlisten?.();
    this.unlisten = undefined;
    this.job = undefined;
    // An idle worker does not keep the process alive.
    this.worker?.unref();
    this.onFree();
  }

  /** Kills the worker (a hang, a crash, an abort); the next job starts a fresh one. */
  private kill(): void {
    const worker = this.worker;
    this.worker = undefined;
    if (worker) {
      worker.removeAllListeners();
      worker.on('error', () => undefined);
      void worker.terminate();
    }
  }

  private spawn(): Worker {
    const worker = this.createWorker(WORKER_URL);
    worker.unref();
    worker.on('message', (reply: WorkerReply) => this.onReply(reply));
    const onDeath = (error?: unknown) => {
      const job = this.job;
      this.kill();
      if (job) {
        const reason = error instanceof Error ? `: ${error.message}` : '';
        job.resolve(failedJob(job, 'crashed', `the sandbox worker stopped${reason}; it was restarted`));
        this.release();
      }
    };
    worker.on('error', onDeath);
    worker.on('exit', () => onDeath());
    return worker;
  }

  private onReply(reply: WorkerReply): void {
    const job = this.job;
    if (!job || job.id !== reply.id) return;
    if (reply.started) {
      this.armWatchdog(job, this.limits.timeoutMs + WATCHDOG_GRACE_MS);
      return;
    }
    const result: SandboxResult = reply.ok
      ? parseReply(reply.json ?? 'null', reply.ms)
      : { ok: false, kind: reply.kind ?? 'thrown', message: reply.message ?? 'failed', ms: reply.ms };
    // A call that hit a limit may have grown the worker's WebAssembly memory: start afresh.
    // (The worker sets the kind from what it observed, never from what the tool threw.)
    if ((!result.ok && RECYCLE.has(result.kind)) || reply.recycle) this.kill();
    job.resolve(result);
    this.release();
  }

  /** Terminates the worker if it stays silent for `ms` (a loop QuickJS could not interrupt). */
  private armWatchdog(job: SandboxJob, ms: number): void {
    clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => {
      this.kill();
      job.resolve(failedJob(job, 'timeout', 'the watchdog stopped it: it did not yield at its deadline'));
      this.release();
    }, ms);
    this.watchdog.unref();
  }
}

function parseReply(json: string, ms: number): SandboxResult {
  try {
    return { ok: true, value: JSON.parse(json), json, ms };
  } catch {
    return { ok: false, kind: 'not_json', message: 'the result could not be read back as JSON', ms };
  }
}
