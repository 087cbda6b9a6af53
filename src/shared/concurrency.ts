/**
 * Two small coordination helpers the bot and the services share. p-queue serves the global
 * model-call limit; these two are about keys, which no well-kept library covers in a few lines
 * without pulling a queue per key.
 */

/**
 * Runs work for one key at a time, in arrival order; different keys run side by side. The
 * entry for a key is dropped once its last holder releases it, so keys never accumulate.
 */
export interface KeyedLock {
  /** Waits for the key; resolves with the function that releases it. */
  acquire(key: string): Promise<() => void>;
  /** Runs `work` while holding the key. */
  run<T>(key: string, work: () => Promise<T>): Promise<T>;
  /** Keys held or waited for now. */
  readonly size: number;
}

export function createKeyedLock(): KeyedLock {
  const tails = new Map<string, Promise<void>>();
  async function acquire(key: string): Promise<() => void> {
    const previous = tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const current = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => current);
    tails.set(key, tail);
    await previous;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      release();
      if (tails.get(key) === tail) tails.delete(key);
    };
  }
  return {
    acquire,
    async run(key, work) {
      const release = await acquire(key);
      try {
        return await work();
      } finally {
        release();
      }
    },
    get size() {
      return tails.size;
    },
  };
}

/**
 * Collapses concurrent calls for the same key into one: while `work` for a key runs, every
 * other caller for that key gets the same promise. Nothing is cached after it settles.
 */
export interface SingleFlight<T> {
  do(key: string, work: () => Promise<T>): Promise<T>;
}

export function createSingleFlight<T>(): SingleFlight<T> {
  const inFlight = new Map<string, Promise<T>>();
  return {
    do(key, work) {
      const running = inFlight.get(key);
      if (running) return running;
      const promise = work().finally(() => inFlight.delete(key));
      inFlight.set(key, promise);
      return promise;
    },
  };
}
