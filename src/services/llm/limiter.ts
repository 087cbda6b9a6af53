/**
 * A global cap on simultaneous model calls. Ollama serves one request per model at a time by
 * default; queueing here keeps every dialogue informed of its place instead of timing out in
 * Ollama's own queue.
 */
export interface Limiter {
  /**
   * Runs `task` when a slot is free. `onQueued` is called once, with the 1-based position,
   * when the task has to wait.
   */
  run<T>(
    task: () => Promise<T>,
    options?: { onQueued?: (position: number) => void; signal?: AbortSignal },
  ): Promise<T>;
  /** Calls running now. */
  readonly active: number;
  /** Calls waiting for a slot. */
  readonly waiting: number;
}

export function createLimiter(concurrency: number): Limiter {
  let active = 0;
  const queue: Array<{ start: () => void; cancel: (reason: unknown) => void }> = [];

  const next = () => {
    while (active < concurrency && queue.length > 0) {
      active++;
      queue.shift()?.start();
    }
  };

  return {
    get active() {
      return active;
    },
    get waiting() {
      return queue.length;
    },
    async run(task, options = {}) {
      options.signal?.throwIfAborted();
      if (active >= concurrency) {
        await new Promise<void>((resolve, reject) => {
          const entry = {
            start: () => {
              options.signal?.removeEventListener('abort', abort);
              resolve();
            },
            cancel: reject,
          };
          const abort = () => {
            const index = queue.indexOf(entry);
            if (index >= 0) queue.splice(index, 1);
            reject(options.signal?.reason);
          };
          options.signal?.addEventListener('abort', abort, { once: true });
          queue.push(entry);
          options.onQueued?.(queue.length);
        });
      } else {
        active++;
      }
      try {
        return await task();
      } finally {
        active--;
        next();
      }
    },
  };
}
