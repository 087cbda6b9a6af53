import { Worker } from 'node:worker_threads';
import { DEFAULT_SANDBOX_LIMITS, type SandboxLimits, type SandboxResult } from './sandboxLimits.ts';
import { failedJob, type SandboxJob, SandboxSlot } from './sandboxSlot.ts';

/**
 * Runs untrusted JavaScript — a tool's `run(input)` — in QuickJS compiled to WebAssembly, on
 * worker threads, never in the bot's own isolate. Every call gets a fresh QuickJS runtime with
 * a deadline, a memory limit and a stack limit; a worker that stops answering is terminated
 * and replaced (`sandboxSlot.ts`), so a fault ends one call and nothing else.
 */

export {
  DEFAULT_SANDBOX_LIMITS,
  describeFailureKind,
  type SandboxFailureKind,
  type SandboxLimits,
  type SandboxResult,
} from './sandboxLimits.ts';

export interface Sandbox {
  /** Runs `run(input)` from `code`; never rejects. */
  run(code: string, input: unknown, options?: { signal?: AbortSignal }): Promise<SandboxResult>;
  readonly limits: SandboxLimits;
  /** Terminates the workers; calls in flight end as `aborted`. */
  close(): Promise<void>;
}

export interface SandboxOptions {
  limits?: Partial<SandboxLimits>;
  /** Worker threads (default 2). */
  workers?: number;
  /** Starts a worker thread on the given script (default `new Worker(url)`; tests count them). */
  createWorker?: (url: URL) => Worker;
}

/** The calls waiting for a worker, and the workers' slots; calls start in the order they came. */
class SandboxPool {
  private readonly queue: SandboxJob[] = [];
  private readonly slots: SandboxSlot[];
  private nextId = 1;
  closed = false;

  constructor(limits: SandboxLimits, size: number, createWorker: (url: URL) => Worker) {
    this.slots = Array.from({ length: size }, () => new SandboxSlot(limits, createWorker, () => this.pump()));
  }

  submit(
    code: string,
    input: string,
    signal: AbortSignal | undefined,
    started: number,
  ): Promise<SandboxResult> {
    return new Promise<SandboxResult>((resolve) => {
      this.queue.push({ id: this.nextId++, code, input, resolve, signal, started });
      this.pump();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.resolve(failedJob(job, 'aborted', 'the sandbox is closed'));
    await Promise.all(this.slots.map((slot) => slot.close()));
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (this.closed || this.queue.length === 0) return;
      if (slot.busy) continue;
      const job = this.queue.shift();
      if (job) slot.start(job);
    }
  }
}

export function createSandbox(options: SandboxOptions = {}): Sandbox {
  const limits: SandboxLimits = { ...DEFAULT_SANDBOX_LIMITS, ...options.limits };
  const pool = new SandboxPool(
    limits,
    Math.max(1, options.workers ?? 2),
    options.createWorker ?? ((url: URL) => new Worker(url)),
  );
  return {
    limits,
    run: (code, input, runOptions = {}) => runInSandbox(pool, limits, code, input, runOptions.signal),
    close: () => pool.close(),
  };
}

/** One call: its input checked (JSON, and small enough for the sandbox's memory), then queued. */
function runInSandbox(
  pool: SandboxPool,
  limits: SandboxLimits,
  code: string,
  input: unknown,
  signal: AbortSignal | undefined,
): Promise<SandboxResult> {
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
  if (pool.closed) {
    return Promise.resolve({ ok: false, kind: 'aborted', message: 'the sandbox is closed', ms: 0 });
  }
  return pool.submit(code, inputJson, signal, started);
}
