import type { Clock } from './clock.ts';

/**
 * Counts events per key in a sliding window (a member's dialogues in the last hour). Ours, not
 * rate-limiter-flexible: its windows run on the wall clock, and ours must move with the injected
 * clock so a test can step past the hour.
 */
export interface SlidingWindow {
  /** Records an event for `key` if the limit allows it; otherwise says when it will. */
  take(key: string): { ok: true } | { ok: false; retryAt: number; limit: number };
}

export function createSlidingWindow(options: {
  limit: number;
  windowMs: number;
  clock: Clock;
}): SlidingWindow {
  const events = new Map<string, number[]>();
  return {
    take(key) {
      if (options.limit <= 0) return { ok: true };
      const now = options.clock.now();
      const recent = (events.get(key) ?? []).filter((at) => at > now - options.windowMs);
      if (recent.length >= options.limit) {
        events.set(key, recent);
        return { ok: false, retryAt: (recent[0] ?? now) + options.windowMs, limit: options.limit };
      }
      recent.push(now);
      events.set(key, recent);
      // Keys whose window is empty are dropped as they are met, so the map stays small.
      if (events.size > 10_000) {
        for (const [other, times] of events)
          if ((times.at(-1) ?? 0) <= now - options.windowMs) events.delete(other);
      }
      return { ok: true };
    },
  };
}
