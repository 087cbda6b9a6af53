import PQueue from 'p-queue';
import { AppError } from '../errors.ts';

/**
 * How a call waits for its slot. `onQueued` is called once, with the 1-based position among the
 * calls of the same or higher priority, when the task has to wait. Background work (curation,
 * evaluation) passes a lower `priority` (default 0, people's dialogues) so it goes after people.
 * `leaveWhenHeld`: a call that may as well be made later (a recorded dialogue's embedding: the
 * record stays queued for the next pass) is refused while calls are held, and taken out of the
 * queue when a hold begins, with MODEL_QUEUE_HELD, rather than wait for hours.
 */
export interface QueueOptions {
  onQueued?: (position: number, reason?: string) => void;
  signal?: AbortSignal;
  priority?: number;
  leaveWhenHeld?: boolean;
}

/**
 * One model server's cap on simultaneous calls (p-queue): `LLM_CONCURRENCY` slots. Ollama serves
 * one request per model at a time by default; queueing here keeps every dialogue informed of its
 * place instead of timing out in Ollama's own queue. `limiter.ts` keeps one of these per server.
 */
export interface ServerQueue {
  /** Runs `task` when a slot is free (see {@link QueueOptions}). */
  run<T>(task: () => Promise<T>, options?: QueueOptions): Promise<T>;
  /** Calls running now. */
  readonly active: number;
  /** Calls waiting for a slot. */
  readonly waiting: number;
  /**
   * Holds every new call until the returned function is called (the GPU is lent to a
   * fine-tune); waiting callers are told `reason`. Calls already running finish. Holds may
   * overlap: calls go on once every one is released.
   */
  hold(reason: string): () => void;
  /** Why calls are held, if they are. */
  readonly heldFor: string | undefined;
  /** Resolves once no call is running (the held ones aside). */
  drained(): Promise<void>;
}

const heldError = (reason: string) =>
  new AppError('MODEL_QUEUE_HELD', 'operational', `model calls are held: ${reason}`);

/**
 * A waiting call's way out of the queue when a hold begins: its own signal, which also follows
 * the caller's (a plain listener: `AbortSignal.any` may be collected before it fires on Node 20).
 */
function leaveOnHold(leaving: Set<AbortController>, source: AbortSignal | undefined) {
  const controller = new AbortController();
  leaving.add(controller);
  const follow = () => controller.abort(source?.reason);
  source?.addEventListener('abort', follow, { once: true });
  return {
    controller,
    signal: controller.signal,
    done: () => {
      leaving.delete(controller);
      source?.removeEventListener('abort', follow);
    },
  };
}

export function createServerQueue(
  concurrency: number,
  /** Told how long each call waited for its slot, in milliseconds (metrics). */
  onWaited?: (ms: number) => void,
): ServerQueue {
  const queue = new PQueue({ concurrency });
  /**
   * The holds in force, each by its reason: the queue starts again only when the last is released
   * (holds may overlap: the limiter's `hold` may be asked again before the first is released).
   */
  const holds = new Set<{ reason: string }>();
  const heldReason = () => [...holds].at(-1)?.reason;
  /** The waiting calls that leave the queue when a hold begins. */
  const leaving = new Set<AbortController>();
  return {
    get heldFor() {
      return heldReason();
    },
    hold(reason) {
      const hold = { reason };
      holds.add(hold);
      queue.pause();
      for (const leave of leaving) leave.abort(heldError(reason));
      leaving.clear();
      return () => {
        if (!holds.delete(hold) || holds.size > 0) return;
        queue.start();
      };
    },
    drained: () => queue.onPendingZero(),
    get active() {
      return queue.pending;
    },
    get waiting() {
      return queue.size;
    },
    run(task, options = {}) {
      options.signal?.throwIfAborted();
      const heldFor = heldReason();
      if (options.leaveWhenHeld && heldFor !== undefined) return Promise.reject(heldError(heldFor));
      const priority = options.priority ?? 0;
      const mustWait = queue.isPaused || queue.pending >= concurrency || queue.size > 0;
      const leave = options.leaveWhenHeld ? leaveOnHold(leaving, options.signal) : undefined;
      const signal = leave?.signal ?? options.signal;
      // A measurement only, never a decision: the monotonic clock is right for it.
      const queuedAt = performance.now();
      const result = queue.add(
        () => {
          // Running now: a hold that begins lets it finish, like any call under way.
          if (leave) leaving.delete(leave.controller);
          onWaited?.(performance.now() - queuedAt);
          return task();
        },
        { priority, ...(signal ? { signal } : {}) },
      );
      if (leave) result.then(leave.done, leave.done);
      if (mustWait) {
        // p-queue counts by exact priority: a person's call waits behind people's calls only; a
        // background call behind everything.
        options.onQueued?.(priority >= 0 ? queue.sizeBy({ priority }) : queue.size, heldFor);
      }
      return result;
    },
  };
}
