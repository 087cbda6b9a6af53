import { RESTEvents } from 'discord.js';
import type { BucketHeaders } from './budgets.ts';
import type { RateLimitedAnswer, SendReport } from './postingPort.ts';

/** The route bucket a response describes; undefined when it carries no rate-limit headers. */
export function bucketFromHeaders(headers: Pick<Headers, 'get'>): BucketHeaders | undefined {
  const limit = Number(headers.get('x-ratelimit-limit') ?? Number.NaN);
  const remaining = Number(headers.get('x-ratelimit-remaining') ?? Number.NaN);
  const resetAfter = Number(headers.get('x-ratelimit-reset-after') ?? Number.NaN);
  if (![limit, remaining, resetAfter].every(Number.isFinite)) return undefined;
  return { limit, remaining, resetAfterMs: resetAfter * 1000 };
}

/** What a 429 says: its scope and Retry-After (seconds on the wire). */
function rateLimitedFrom(headers: Pick<Headers, 'get'>): RateLimitedAnswer {
  const retryAfter = Number(headers.get('retry-after') ?? 0);
  return {
    scope: headers.get('x-ratelimit-scope') ?? 'user',
    retryAfterMs: Number.isFinite(retryAfter) ? retryAfter * 1000 : 0,
  };
}

type ResponseListener = (request: { path: string }, response: { status: number; headers: Headers }) => void;

/** The part of discord.js's REST manager read here: its `response` event. */
export interface RestResponses {
  on(event: RESTEvents.Response, listener: ResponseListener): unknown;
  off(event: RESTEvents.Response, listener: ResponseListener): unknown;
}

interface Observed {
  status: number;
  headers: Pick<Headers, 'get'>;
}

/** Reads Discord's answers to webhook requests as discord.js receives them. */
export interface WebhookResponses {
  /**
   * Runs `request` (one message through the webhook) and reports what Discord answered to the
   * webhook's requests meanwhile: the bucket from the last answer, and every 429 that discord.js
   * waited out before it succeeded. Rejects as `request` does.
   */
  during(webhookId: string, request: () => Promise<unknown>): Promise<SendReport>;
  /** Stops listening. */
  stop(): void;
}

/**
 * discord.js resolves `webhook.send` with the message alone; its REST manager's `response` event
 * carries every response, 429s included, so that is where the headers are read. A webhook has one
 * message in flight at a time (the scheduler's lane), so what arrives for it meanwhile is ours.
 */
export function watchWebhookResponses(rest: RestResponses): WebhookResponses {
  const watching = new Map<string, Observed[]>();
  const listener: ResponseListener = (request, response) => {
    const webhookId = /^\/webhooks\/(\d+)\//.exec(request.path)?.[1];
    const seen = webhookId ? watching.get(webhookId) : undefined;
    seen?.push({ status: response.status, headers: response.headers });
  };
  rest.on(RESTEvents.Response, listener);

  return {
    async during(webhookId, request) {
      const seen: Observed[] = [];
      watching.set(webhookId, seen);
      try {
        await request();
      } finally {
        if (watching.get(webhookId) === seen) watching.delete(webhookId);
      }
      const last = seen.at(-1);
      const bucket = last ? bucketFromHeaders(last.headers) : undefined;
      return {
        delivered: true,
        ...(bucket ? { bucket } : {}),
        rateLimited: seen
          .filter((answer) => answer.status === 429)
          .map((answer) => rateLimitedFrom(answer.headers)),
      };
    },
    stop() {
      rest.off(RESTEvents.Response, listener);
    },
  };
}
