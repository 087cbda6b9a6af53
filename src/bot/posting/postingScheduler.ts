import type { Clock } from '../../services/clock.ts';
import type { Logger } from '../../services/logger.ts';
import { type BucketHeaders, type RateLimit, SlidingWindow, WebhookBucket } from './budgets.ts';

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

/** A 429 Discord answered on the way. */
export interface RateLimitedAnswer {
  /** `X-RateLimit-Scope`: `user` (a route bucket), `global`, or `shared` (the channel's webhook messages). */
  scope: string;
  retryAfterMs: number;
}

/** What Discord said while one webhook message went out. */
export interface SendReport {
  /**
   * False when Discord answered 429 and created nothing: the scheduler waits `rateLimited`'s
   * Retry-After and sends the message again. A REST client that retries 429s itself (discord.js)
   * always reports true, with the 429s it waited out in `rateLimited`.
   */
  delivered: boolean;
  /** The webhook's bucket from the last response's headers; absent when it had none. */
  bucket?: BucketHeaders;
  rateLimited: readonly RateLimitedAnswer[];
}

/** Where a message goes: a thread, and the parent channel whose webhook and limits it uses. */
export interface PostTarget {
  channelId: string;
  threadId: string;
}

/** The one thing the scheduler needs of Discord. */
export interface PostingPort<Part> {
  /**
   * Sends one webhook message and reports what Discord said about the limits. Rejects with
   * Discord's error when the message cannot be posted.
   */
  send(target: PostTarget, part: Part): Promise<SendReport>;
}

/** A post: one persona turn, as one or more messages that stay together and in order in its thread. */
export interface PostRequest<Part> extends PostTarget {
  parts: readonly Part[];
  /** The first post of a dialogue run: its thread goes before the threads already taking turns. */
  opening?: boolean;
  /**
   * Edits or deletes messages already posted: they take the webhook's budget, not the channel's
   * (Discord's shared limit counts the messages created).
   */
  edit?: boolean;
  /**
   * Called at most once, when the post's next message is expected to wait more than
   * `noticeAfterMs` for the limits, with the expected wait in ms.
   */
  onDelayed?: (waitMs: number) => void;
}

export interface PostingScheduler<Part> {
  /**
   * Queues a post. Resolves once every part is delivered; rejects with the port's error, and
   * the parts not yet sent are dropped (the thread's later posts go on).
   */
  post(request: PostRequest<Part>): Promise<void>;
}

interface Pending<Part> {
  request: PostRequest<Part>;
  /** The next part to send. */
  next: number;
  told: boolean;
  resolve: () => void;
  reject: (error: unknown) => void;
}

interface ThreadQueue<Part> {
  threadId: string;
  posts: Pending<Part>[];
}

/** One parent channel: its webhook, its budgets, and its threads waiting their turn. */
interface Lane<Part> {
  channelId: string;
  channel: SlidingWindow;
  webhook: WebhookBucket;
  /** After a 429 that created nothing: nothing goes out before this. */
  blockedUntil: number;
  /** Served before the rotation: threads opening a run, and a thread whose message was refused. */
  first: ThreadQueue<Part>[];
  /** Every other thread with something to post sends one message, then goes to the back. */
  rotation: ThreadQueue<Part>[];
  threads: Map<string, ThreadQueue<Part>>;
  draining: boolean;
}

/**
 * Posts webhook messages for many threads without a 429 and without one thread starving the
 * others. Each parent channel is a lane: one message in flight at a time (discord.js serves a
 * webhook's requests one by one anyway, and a thread's order must hold), sent only when both
 * budgets allow it — the webhook's bucket, followed from Discord's headers, and the channel's
 * 30-a-minute limit, which Discord never shows before a 429 and which we count ourselves.
 * Threads take turns message by message, so none waits for another's whole dialogue.
 *
 * One webhook per channel, not several: the channel limit is shared by all its webhooks. On the
 * emulator's model of Discord (5 per 2 s per webhook, 30 per minute per channel), 80 messages
 * took 126 s through one webhook, 122 s through two and 122 s through three; a second webhook
 * only brings a burst's first 30 messages forward (the 20th at 2 s instead of 6 s), and the
 * next ones then wait as long. Not worth a second webhook against Discord's 15 per channel,
 * nor a second one to create, persist and recreate.
 */
export function createPostingScheduler<Part>(deps: {
  port: PostingPort<Part>;
  clock: Clock;
  logger: Logger;
  limits?: Partial<PostingLimits>;
}): PostingScheduler<Part> {
  const { clock, port } = deps;
  const log = deps.logger.child({ module: 'posting' });
  const limits: PostingLimits = { ...DEFAULT_POSTING_LIMITS, ...deps.limits };
  const lanes = new Map<string, Lane<Part>>();

  function laneFor(channelId: string): Lane<Part> {
    let lane = lanes.get(channelId);
    if (!lane) {
      // Lanes stay: their windows must outlive a quiet moment, and a bot has few channels.
      lane = {
        channelId,
        channel: new SlidingWindow(limits.channel, limits.marginMs),
        webhook: new WebhookBucket(limits.webhook, limits.marginMs),
        blockedUntil: 0,
        first: [],
        rotation: [],
        threads: new Map(),
        draining: false,
      };
      lanes.set(channelId, lane);
    }
    return lane;
  }

  const readyAt = (lane: Lane<Part>, now: number, queue?: ThreadQueue<Part>) =>
    Math.max(
      now,
      lane.blockedUntil,
      queue?.posts[0]?.request.edit ? now : lane.channel.availableAt(now),
      lane.webhook.availableAt(now),
    );

  /** When each of the next `count` messages of a lane can go out, if nothing else changes. */
  function estimate(lane: Lane<Part>, now: number, count: number): number[] {
    const channel = lane.channel.settledCopy(now);
    const webhook = lane.webhook.settledCopy(now);
    const times: number[] = [];
    let at = now;
    for (let i = 0; i < count; i += 1) {
      at = Math.max(at, lane.blockedUntil, channel.availableAt(at), webhook.availableAt(at));
      times.push(at);
      channel.take();
      webhook.take(at);
      channel.settle(at);
      webhook.settle(at);
    }
    return times;
  }

  /**
   * Tells each thread whose next post must wait too long, once per post, and only before its
   * first part: a notice between the parts of a turn would split it.
   */
  function tellDelayed(lane: Lane<Part>, now: number): void {
    const line = [...lane.first, ...lane.rotation];
    const untold = (queue: ThreadQueue<Part>) => {
      const head = queue.posts[0];
      return head && !head.told && head.next === 0 && head.request.onDelayed ? head : undefined;
    };
    if (!line.some(untold)) return;
    const times = estimate(lane, now, line.length);
    line.forEach((queue, index) => {
      const head = untold(queue);
      const waitMs = (times[index] ?? now) - now;
      if (!head || waitMs <= limits.noticeAfterMs) return;
      head.told = true;
      log.debug({ channelId: lane.channelId, threadId: queue.threadId, waitMs }, 'posting delayed by limits');
      try {
        head.request.onDelayed?.(waitMs);
      } catch (error) {
        log.error({ err: error, threadId: queue.threadId }, 'delay notice failed');
      }
    });
  }

  async function sendNext(lane: Lane<Part>, queue: ThreadQueue<Part>): Promise<void> {
    const pending = queue.posts[0];
    const part = pending?.request.parts[pending.next];
    if (!pending || part === undefined) {
      lane.threads.delete(queue.threadId);
      return;
    }
    const creates = !pending.request.edit;
    if (creates) lane.channel.take();
    lane.webhook.take(clock.now());
    let report: SendReport | undefined;
    let failure: unknown;
    try {
      report = await port.send({ channelId: lane.channelId, threadId: queue.threadId }, part);
    } catch (error) {
      failure = error;
    }
    const now = clock.now();
    if (creates) lane.channel.settle(now);
    lane.webhook.settle(now, report?.bucket);
    for (const limited of report?.rateLimited ?? []) {
      log.warn(
        { channelId: lane.channelId, threadId: queue.threadId, ...limited, delivered: report?.delivered },
        'Discord answered 429 despite the pacing',
      );
    }
    if (!report) {
      queue.posts.shift();
      pending.reject(failure);
    } else if (!report.delivered) {
      const retryAfterMs = Math.max(0, ...report.rateLimited.map((limited) => limited.retryAfterMs));
      lane.blockedUntil = Math.max(lane.blockedUntil, now + retryAfterMs + limits.marginMs);
      // Refused, not lost: the same message goes again, first.
      lane.first.unshift(queue);
      return;
    } else {
      pending.next += 1;
      if (pending.next >= pending.request.parts.length) {
        queue.posts.shift();
        pending.resolve();
      }
    }
    if (queue.posts.length > 0) lane.rotation.push(queue);
    else lane.threads.delete(queue.threadId);
  }

  async function drain(lane: Lane<Part>): Promise<void> {
    lane.draining = true;
    try {
      for (;;) {
        if (lane.first.length === 0 && lane.rotation.length === 0) return;
        const now = clock.now();
        // In line order; an edit may pass new messages that wait for the channel's window.
        const line = [...lane.first, ...lane.rotation];
        const times = line.map((queue) => readyAt(lane, now, queue));
        const index = times.findIndex((at) => at <= now);
        const queue = line[index];
        if (!queue) {
          tellDelayed(lane, now);
          await clock.sleep(Math.min(...times) - now);
          continue;
        }
        const from = index < lane.first.length ? lane.first : lane.rotation;
        from.splice(from.indexOf(queue), 1);
        await sendNext(lane, queue);
      }
    } finally {
      lane.draining = false;
    }
  }

  /** A bug in the loop must not leave posts hanging: they fail, and the lane starts afresh. */
  function failAll(lane: Lane<Part>, error: unknown): void {
    log.error({ err: error, channelId: lane.channelId }, 'posting lane failed');
    for (const queue of lane.threads.values()) for (const pending of queue.posts) pending.reject(error);
    lane.threads.clear();
    lane.first.length = 0;
    lane.rotation.length = 0;
  }

  return {
    post(request) {
      if (request.parts.length === 0) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const lane = laneFor(request.channelId);
        const pending: Pending<Part> = { request, next: 0, told: false, resolve, reject };
        const queue = lane.threads.get(request.threadId);
        if (queue) {
          queue.posts.push(pending);
        } else {
          const fresh = { threadId: request.threadId, posts: [pending] };
          lane.threads.set(request.threadId, fresh);
          (request.opening ? lane.first : lane.rotation).push(fresh);
        }
        if (lane.draining) tellDelayed(lane, clock.now());
        else drain(lane).catch((error: unknown) => failAll(lane, error));
      });
    },
  };
}
