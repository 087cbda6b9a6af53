import type { Clock } from '../clock.ts';

/**
 * A trainer's progress, stored (and published) at most once per interval: a trainer may print a
 * progress line per step, hundreds a second, and each store is a database write and an update of
 * the job's message. The latest change waits for the interval's end, when it is stored unless a
 * newer one replaced it; `flush` stores what waits at once (the training is over), so the final
 * state is never lost.
 */

/** How often a job's progress is stored, at most (ms). */
export const PROGRESS_INTERVAL_MS = 1000;

export class ProgressThrottle<Change extends object> {
  private pending: Change | undefined;
  private lastStored = Number.NEGATIVE_INFINITY;
  private timer: AbortController | undefined;

  constructor(
    private readonly deps: {
      clock: Clock;
      /** Stores (and publishes) a change; a promise it returns is waited for. */
      store: (change: Change) => unknown;
      /** Told when a store made in `push` or at an interval's end fails (one made in `flush` fails to its caller). */
      onError: (error: unknown) => void;
      intervalMs?: number;
    },
  ) {}

  private get intervalMs(): number {
    return this.deps.intervalMs ?? PROGRESS_INTERVAL_MS;
  }

  /** A new change: stored now if the interval has passed since the last, else at its end (merged with any newer). */
  push(change: Change): void {
    this.pending = { ...this.pending, ...change };
    const wait = this.lastStored + this.intervalMs - this.deps.clock.now();
    if (wait <= 0) {
      this.flush().catch(this.deps.onError);
      return;
    }
    if (this.timer) return;
    const timer = new AbortController();
    this.timer = timer;
    this.deps.clock
      .sleep(wait, timer.signal)
      .then(
        () => {
          if (this.timer !== timer) return;
          this.timer = undefined;
          return this.flush();
        },
        () => undefined,
      )
      .catch(this.deps.onError);
  }

  /** Stores what waits, if anything, now; resolves once it is stored. */
  async flush(): Promise<void> {
    this.timer?.abort();
    this.timer = undefined;
    const change = this.pending;
    if (!change) return;
    this.pending = undefined;
    this.lastStored = this.deps.clock.now();
    await this.deps.store(change);
  }
}
