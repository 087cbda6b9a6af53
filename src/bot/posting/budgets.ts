/** At most `limit` requests in `windowMs` milliseconds. */
export interface RateLimit {
  limit: number;
  windowMs: number;
}

/** The limits the scheduler paces webhook messages for. Tests scale them down together. */
export interface PostingLimits {
  /**
   * Requests per webhook (executes and edits), until Discord's `X-RateLimit-*` headers say
   * otherwise. Discord: 5 per 2000 ms.
   */
  webhook: RateLimit;
  /**
   * Webhook messages per parent channel in any window, all webhooks and threads together (a
   * sliding window we count ourselves: Discord shows this limit only in a 429 with
   * `X-RateLimit-Scope: shared`). Discord: about 30 per 60000 ms.
   */
  channel: RateLimit;
  /**
   * Added to every wait, in ms: Discord's clock is not ours and `Date.now()` is whole
   * milliseconds. Default 50, discord.js's own offset.
   */
  marginMs: number;
  /** A thread whose next message must wait longer than this (ms) for the limits is told so. Default 5000. */
  noticeAfterMs: number;
}

export const DEFAULT_POSTING_LIMITS: Readonly<PostingLimits> = Object.freeze({
  webhook: Object.freeze({ limit: 5, windowMs: 2_000 }),
  channel: Object.freeze({ limit: 30, windowMs: 60_000 }),
  marginMs: 50,
  noticeAfterMs: 5_000,
});

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

/**
 * One parent channel's budgets together: its webhook's bucket, its window of webhook messages,
 * and the pause after a 429 that created nothing.
 */
export class LaneBudgets {
  private readonly channel: SlidingWindow;
  private readonly webhook: WebhookBucket;
  /** After a 429 that created nothing: nothing goes out before this. */
  private blockedUntil = 0;

  constructor(private readonly limits: Pick<PostingLimits, 'webhook' | 'channel' | 'marginMs'>) {
    this.channel = new SlidingWindow(limits.channel, limits.marginMs);
    this.webhook = new WebhookBucket(limits.webhook, limits.marginMs);
  }

  /**
   * When a message can go out, from `now`. Only a message that `creates` one waits for the
   * channel's window: edits and deletions take the webhook's budget alone.
   */
  readyAt(now: number, creates: boolean): number {
    return Math.max(
      now,
      this.blockedUntil,
      creates ? this.channel.availableAt(now) : now,
      this.webhook.availableAt(now),
    );
  }

  /** When each of the next `count` new messages can go out, if nothing else changes. */
  estimate(now: number, count: number): number[] {
    const channel = this.channel.settledCopy(now);
    const webhook = this.webhook.settledCopy(now);
    const times: number[] = [];
    let at = now;
    for (let i = 0; i < count; i += 1) {
      at = Math.max(at, this.blockedUntil, channel.availableAt(at), webhook.availableAt(at));
      times.push(at);
      channel.take();
      webhook.take(at);
      channel.settle(at);
      webhook.settle(at);
    }
    return times;
  }

  /** A message goes out at `now`. */
  take(now: number, creates: boolean): void {
    if (creates) this.channel.take();
    this.webhook.take(now);
  }

  /** A message came back at `now`; `bucket` is Discord's word on the webhook's (absent: ours stands). */
  settle(now: number, creates: boolean, bucket?: BucketHeaders): void {
    if (creates) this.channel.settle(now);
    this.webhook.settle(now, bucket);
  }

  /** Discord refused a message at `now`: nothing goes out before its Retry-After has passed. */
  pause(now: number, retryAfterMs: number): void {
    this.blockedUntil = Math.max(this.blockedUntil, now + retryAfterMs + this.limits.marginMs);
  }
}
