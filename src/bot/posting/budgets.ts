/** At most `limit` requests in `windowMs` milliseconds. */
export interface RateLimit {
  limit: number;
  windowMs: number;
}

/** A webhook's route bucket as Discord's `X-RateLimit-Limit`, `-Remaining` and `-Reset-After` describe it. */
export interface BucketHeaders {
  limit: number;
  remaining: number;
  /** Milliseconds until the bucket refills, from the response. */
  resetAfterMs: number;
}

/**
 * At most `limit` uses in any `windowMs`, counted by us. A use counts from the moment its
 * response came back: Discord counted it earlier, so a slot we see as free is free there too.
 * A use still in flight holds a slot until it settles.
 */
export class SlidingWindow {
  private readonly times: number[] = [];
  private inFlight = 0;

  constructor(
    private readonly rate: RateLimit,
    private readonly marginMs: number,
  ) {}

  /** The earliest time from `now` when one more use fits. */
  availableAt(now: number): number {
    const span = this.rate.windowMs + this.marginMs;
    while (this.times.length > 0 && (this.times[0] ?? 0) + span <= now) this.times.shift();
    const over = this.times.length + this.inFlight - this.rate.limit;
    if (over < 0) return now;
    // Only settled uses expire; with every slot held in flight, one must settle first.
    const expiring = this.times[over];
    return expiring === undefined ? Number.POSITIVE_INFINITY : expiring + span;
  }

  /** A use goes out. */
  take(): void {
    this.inFlight += 1;
  }

  /** A use came back at `now` (delivered or failed: either way Discord may have counted it). */
  settle(now: number): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
    this.times.push(now);
  }

  /** A copy where whatever is in flight has come back at `now`: for estimating waits. */
  settledCopy(now: number): SlidingWindow {
    const copy = new SlidingWindow(this.rate, this.marginMs);
    copy.times.push(...this.times);
    for (let i = 0; i < this.inFlight; i += 1) copy.times.push(now);
    return copy;
  }
}

/**
 * One webhook's route bucket. Discord tells it in every response's headers, and we follow them
 * (its limit, what is left, when it refills), as discord.js does; until a response has told us,
 * we count our own uses against the configured default.
 */
export class WebhookBucket {
  private known: { limit: number; remaining: number; resetAt: number } | undefined;
  private own: SlidingWindow;

  constructor(
    private readonly rate: RateLimit,
    private readonly marginMs: number,
  ) {
    this.own = new SlidingWindow(rate, marginMs);
  }

  availableAt(now: number): number {
    if (!this.known) return this.own.availableAt(now);
    return this.known.remaining > 0 || now >= this.known.resetAt ? now : this.known.resetAt;
  }

  take(now: number): void {
    this.own.take();
    if (!this.known) return;
    if (now >= this.known.resetAt) {
      const limit = this.known.limit;
      this.known = { limit, remaining: limit, resetAt: now + this.rate.windowMs + this.marginMs };
    }
    this.known.remaining -= 1;
  }

  /** A request came back at `now`; `headers` are Discord's word on the bucket (absent: ours stands). */
  settle(now: number, headers?: BucketHeaders): void {
    this.own.settle(now);
    if (headers) {
      this.known = {
        limit: headers.limit,
        remaining: headers.remaining,
        resetAt: now + headers.resetAfterMs + this.marginMs,
      };
    }
  }

  /** A copy where whatever is in flight has come back at `now`: for estimating waits. */
  settledCopy(now: number): WebhookBucket {
    const copy = new WebhookBucket(this.rate, this.marginMs);
    copy.own = this.own.settledCopy(now);
    copy.known = this.known ? { ...this.known } : undefined;
    return copy;
  }
}
