import type { BucketHeaders } from './budgets.ts';

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
