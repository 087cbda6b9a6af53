import type { Clock } from '../../src/services/clock.ts';

interface Timer {
  at: number;
  fire: () => void;
  /** For `every`: the period; the timer is re-armed after it fires. */
  every?: number;
  cancelled?: boolean;
}

/**
 * A clock a test moves by hand: `now()` stands still until `advance` or `set`, and `sleep` and
 * `every` fire as the time passes them (never on the wall clock).
 */
export class ManualClock implements Clock {
  private time: number;
  private readonly timers: Timer[] = [];

  constructor(start: number | string | Date = Date.UTC(2026, 10, 30, 12, 0, 0)) {
    this.time = new Date(start).getTime();
  }

  now(): number {
    return this.time;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const timer: Timer = { at: this.time + ms, fire: resolve };
      signal?.addEventListener(
        'abort',
        () => {
          timer.cancelled = true;
          reject(signal.reason);
        },
        { once: true },
      );
      this.timers.push(timer);
    });
  }

  every(ms: number, tick: () => void): () => void {
    const timer: Timer = { at: this.time + ms, fire: tick, every: ms };
    this.timers.push(timer);
    return () => {
      timer.cancelled = true;
    };
  }

  /** Timers waiting (sleeps and intervals). */
  get pending(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }

  /** Sleeps waiting (intervals aside). */
  get sleeping(): number {
    return this.timers.filter((t) => !t.cancelled && t.every === undefined).length;
  }

  /**
   * Moves time forward by `ms`, firing every timer it passes, in time order; lets the promises
   * they settle run between timers.
   */
  async advance(ms: number): Promise<void> {
    await this.set(this.time + ms);
  }

  /** Moves time to `when` (never backwards), firing the timers it passes. */
  async set(when: number | string | Date): Promise<void> {
    const target = new Date(when).getTime();
    for (;;) {
      const due = this.timers.filter((t) => !t.cancelled && t.at <= target).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.time = Math.max(this.time, due.at);
      if (due.every) due.at += due.every;
      else due.cancelled = true;
      due.fire();
      await flush();
    }
    this.time = Math.max(this.time, target);
    for (let i = this.timers.length - 1; i >= 0; i--) if (this.timers[i]?.cancelled) this.timers.splice(i, 1);
    await flush();
  }
}

/** Lets pending promise callbacks run (a few turns of the microtask and macrotask queues). */
export async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * Resolves once `condition` holds, checking after each turn of the event loop (no timers): for
 * work that proceeds over real sockets while a manual clock stands still. Gives up after
 * `turns` turns.
 */
export async function waitUntil(condition: () => boolean | Promise<boolean>, turns = 100_000): Promise<void> {
  for (let i = 0; i < turns; i++) {
    if (await condition()) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  throw new Error('waitUntil: the condition never held');
}
