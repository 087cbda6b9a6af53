import { Worker } from 'node:worker_threads';

/**
 * Runs untrusted JavaScript — a tool's `run(input)` — in QuickJS compiled to WebAssembly, on
 * worker threads, never in the bot's own isolate. Every call gets a fresh QuickJS runtime with
 * a deadline, a memory limit and a stack limit; a worker that stops answering is terminated
 * and replaced, so a fault ends one call and nothing else.
 */

export interface SandboxLimits {
  /** Deadline for one call, in milliseconds (default 1000). */
  timeoutMs: number;
  /**
   * Memory a call may take, in bytes (default 32 MiB): how far the worker's WebAssembly memory
   * may grow past the 16 MiB it starts with. (QuickJS's own limit cannot measure allocations
   * in WebAssembly, so the worker caps the memory itself, and a refused growth is a `memory`
   * failure.)
   */
  memoryBytes: number;
  /** QuickJS stack limit, in bytes (default 256 KiB: deeper breaks the WebAssembly stack). */
  stackBytes: number;
  /** Largest result, in characters of JSON (default 1,000,000). */
  maxResultChars: number;
}

export const DEFAULT_SANDBOX_LIMITS: SandboxLimits = {
  timeoutMs: 1000,
  memoryBytes: 32 * 1024 * 1024,
  stackBytes: 256 * 1024,
  maxResultChars: 1_000_000,
};

/**
 * Why a call failed. `timeout`, `memory`, `stack` and `crashed` are what the worker observed
 * (QuickJS interrupted at the deadline, a memory growth refused, the stack used to its limit,
 * the WebAssembly module failing), never what the tool threw: a tool's own throw is `thrown`,
 * whatever its name or message.
 */
export type SandboxFailureKind =
  | 'timeout'
  | 'memory'
  | 'stack'
  | 'thrown'
  | 'not_json'
  | 'too_large'
  | 'no_entry'
  | 'syntax'
  | 'bad_input'
  | 'crashed'
  | 'aborted';

export type SandboxResult =
  | { ok: true; value: unknown; json: string; ms: number }
  | { ok: false; kind: SandboxFailureKind; message: string; ms: number };

export interface Sandbox {
  /** Runs `run(input)` from `code`; never rejects. */
  run(code: string, input: unknown, options?: { signal?: AbortSignal }): Promise<SandboxResult>;
  readonly limits: SandboxLimits;
  /** Terminates the workers; calls in flight end as `aborted`. */
  close(): Promise<void>;
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

interface Job {
  id: number;
  code: string;
  input: string;
  resolve(result: SandboxResult): void;
  signal?: AbortSignal | undefined;
  started: number;
}

/** How long past its deadline a worker may stay silent before it is terminated. */
const WATCHDOG_GRACE_MS = 1000;

/** How long a worker may take to start a call (a new thread, a new QuickJS module) before it is terminated. */
const STARTUP_GRACE_MS = 30_000;

/** Failures after which the worker is replaced rather than reused. */
const RECYCLE = new Set<SandboxFailureKind>(['timeout', 'memory', 'stack', 'too_large', 'crashed']);

const WORKER_URL = new URL('./sandboxWorker.mjs', import.meta.url);

/** Human words for each failure, with the limit where one applies. */
export function describeFailureKind(kind: SandboxFailureKind, limits: SandboxLimits): string {
  switch (kind) {
    case 'timeout':
      return `ran past its ${limits.timeoutMs} ms deadline`;
    case 'memory':
      return `ran out of its ${Math.round(limits.memoryBytes / 1024 / 1024)} MB of memory`;
    case 'stack':
      return 'recursed too deeply (stack overflow)';
    case 'too_large':
      return 'returned a result over the size limit';
    case 'not_json':
      return 'returned something that is not JSON';
    case 'crashed':
      return 'crashed the sandbox (it was restarted)';
    default:
      return 'failed';
  }
}

export interface SandboxOptions {
  limits?: Partial<SandboxLimits>;
  /** Worker threads (default 2). */
  workers?: number;
  /** Starts a worker thread on the given script (default `new Worker(url)`; tests count them). */
  createWorker?: (url: URL) => Worker;
}

export function createSandbox(options: SandboxOptions = {}): Sandbox {
  const limits: SandboxLimits = { ...DEFAULT_SANDBOX_LIMITS, ...options.limits };
  const createWorker = options.createWorker ?? ((url: URL) => new Worker(url));
  const size = Math.max(1, options.workers ?? 2);
  const queue: Job[] = [];
  const slots: Array<{
    worker: Worker | undefined;
    job: Job | undefined;
    watchdog?: NodeJS.Timeout;
    /** Removes the job's abort listener (signals outlive calls: no listener may pile up). */
    unlisten?: (() => void) | undefined;
  }> = Array.from({ length: size }, () => ({ worker: undefined, job: undefined }));
  let nextId = 1;
  let closed = false;

  const finish = (job: Job, result: SandboxResult) => job.resolve(result);
  const failed = (job: Job, kind: SandboxFailureKind, message: string): SandboxResult => ({
    ok: false,
    kind,
    message,
    ms: performance.now() - job.started,
  });

  function release(slot: (typeof slots)[number]) {
    clearTimeout(slot.watchdog);
    slot.unlisten?.();
    slot.unlisten = undefined;
    slot.job = undefined;
    // An idle worker does not keep the process alive.
    slot.worker?.unref();
    pump();
  }

  /** Kills a worker (a hang, a crash, an abort); the next job starts a fresh one. */
  function kill(slot: (typeof slots)[number]) {
    const worker = slot.worker;
    slot.worker = undefined;
    if (worker) {
      worker.removeAllListeners();
      worker.on('error', () => undefined);
      void worker.terminate();
    }
  }

  function spawn(slot: (typeof slots)[number]): Worker {
    const worker = createWorker(WORKER_URL);
    worker.unref();
    worker.on('message', (reply: WorkerReply) => {
      const job = slot.job;
      if (!job || job.id !== reply.id) return;
      if (reply.started) return armWatchdog(slot, job, limits.timeoutMs + WATCHDOG_GRACE_MS);
      const result: SandboxResult = reply.ok
        ? parseReply(reply.json ?? 'null', reply.ms)
        : { ok: false, kind: reply.kind ?? 'thrown', message: reply.message ?? 'failed', ms: reply.ms };
      // A call that hit a limit may have grown the worker's WebAssembly memory: start afresh.
      // (The worker sets the kind from what it observed, never from what the tool threw.)
      if ((!result.ok && RECYCLE.has(result.kind)) || reply.recycle) kill(slot);
      finish(job, result);
      release(slot);
    });
    const onDeath = (error?: unknown) => {
      const job = slot.job;
      kill(slot);
      if (job) {
        const reason = error instanceof Error ? `: ${error.message}` : '';
        finish(job, failed(job, 'crashed', `the sandbox worker stopped${reason}; it was restarted`));
        release(slot);
      }
    };
    worker.on('error', onDeath);
    worker.on('exit', () => onDeath());
    return worker;
  }

  function start(slot: (typeof slots)[number], job: Job) {
    slot.job = job;
    if (job.signal?.aborted) {
      finish(job, failed(job, 'aborted', 'the call was cancelled'));
      release(slot);
      return;
    }
    slot.worker ??= spawn(slot);
    slot.worker.ref();
    // Until the worker says it has begun, only a stuck start is guarded against.
    armWatchdog(slot, job, STARTUP_GRACE_MS);
    const onAbort = () => {
      if (slot.job !== job) return;
      kill(slot);
      finish(job, failed(job, 'aborted', 'the call was cancelled'));
      release(slot);
    };
    if (job.signal) {
      const signal = job.signal;
      signal.addEventListener('abort', onAbort, { once: true });
      slot.unlisten = () => signal.removeEventListener('abort', onAbort);
    }
    slot.worker.postMessage({ id: job.id, code: job.code, input: job.input, limits });
  }

  /** Terminates the worker if it stays silent for `ms` (a loop QuickJS could not interrupt). */
  function armWatchdog(slot: (typeof slots)[number], job: Job, ms: number) {
    clearTimeout(slot.watchdog);
    slot.watchdog = setTimeout(() => {
      kill(slot);
      finish(job, failed(job, 'timeout', 'the watchdog stopped it: it did not yield at its deadline'));
      release(slot);
    }, ms);
    slot.watchdog.unref();
  }

  function pump() {
    for (const slot of slots) {
      if (closed || queue.length === 0) return;
      if (slot.job) continue;
      const job = queue.shift();
      if (job) start(slot, job);
    }
  }

  return {
    limits,
    run(code, input, runOptions = {}) {
      const started = performance.now();
      let inputJson: string | undefined;
      try {
        inputJson = JSON.stringify(input);
      } catch {
        inputJson = undefined;
      }
      if (inputJson === undefined) {
        return Promise.resolve({ ok: false, kind: 'bad_input', message: 'the input is not JSON', ms: 0 });
      }
      // The input is copied into the sandbox's memory before the tool runs: it must leave room.
      const maxInput = Math.floor(limits.memoryBytes / 16);
      if (inputJson.length > maxInput) {
        const message = `the input is ${inputJson.length} characters of JSON, over the sandbox's ${maxInput}`;
        return Promise.resolve({ ok: false, kind: 'bad_input', message, ms: 0 });
      }
      if (closed) {
        return Promise.resolve({ ok: false, kind: 'aborted', message: 'the sandbox is closed', ms: 0 });
      }
      return new Promise<SandboxResult>((resolve) => {
        queue.push({ id: nextId++, code, input: inputJson, resolve, signal: runOptions.signal, started });
        pump();
      });
    },
    async close() {
      closed = true;
      for (const job of queue.splice(0)) finish(job, failed(job, 'aborted', 'the sandbox is closed'));
      await Promise.all(
        slots.map(async (slot) => {
          const job = slot.job;
          const worker = slot.worker;
          clearTimeout(slot.watchdog);
          slot.job = undefined;
          slot.worker = undefined;
          if (job) finish(job, failed(job, 'aborted', 'the sandbox is closed'));
          if (worker) {
            worker.removeAllListeners();
            await worker.terminate();
          }
        }),
      );
    },
  };
}

function parseReply(json: string, ms: number): SandboxResult {
  try {
    return { ok: true, value: JSON.parse(json), json, ms };
  } catch {
    return { ok: false, kind: 'not_json', message: 'the result could not be read back as JSON', ms };
  }
}
