/**
 * Discord's rate limits as the emulator enforces them (see `RateLimitOptions`): fixed-window route
 * buckets with moving `X-RateLimit-*` headers, the bot token's global limit, and the hidden sliding
 * per-channel limit on webhook messages; each answers a real 429 as Discord's docs show it.
 */

import type { BucketState, EmulatorState, RateLimitKind, RouteResult } from './model.ts';
import { RateLimitedError } from './results.ts';
import type { RateLimit, RateLimitOptions, RateLimitScope } from './types.ts';

/** Bucket keys start with these (`webhook:{id}`, ...); `rateLimited[].bucket` shows them. */
export const BUCKET_PREFIX = {
  webhook: 'webhook',
  channelWebhookMessages: 'channel-webhook-messages',
  global: 'global',
  channelMessages: 'channel',
} as const;

/**
 * A 429 as Discord's rate-limit docs show it: `Retry-After` in whole seconds rounded up, the
 * body's `retry_after` in fractional seconds, `global` only for the global limit, and the
 * resource message for a shared limit (no `code`: the docs' examples carry none).
 */
export function rateLimitedResult(scope: RateLimitScope, retryAfterMs: number, bucket: string): RouteResult {
  const retryAfter = Number((Math.max(retryAfterMs, 1) / 1000).toFixed(3));
  const headers: Record<string, string> = {
    'Retry-After': String(Math.ceil(retryAfter)),
    'X-RateLimit-Scope': scope,
  };
  if (scope === 'global') headers['X-RateLimit-Global'] = 'true';
  return {
    status: 429,
    body: {
      message: scope === 'shared' ? 'The resource is being rate limited.' : 'You are being rate limited.',
      retry_after: retryAfter,
      global: scope === 'global',
    },
    headers,
    limited: { bucket, scope, retryAfter },
  };
}

/** Forgets what the buckets whose keys start with `prefix` counted. */
function clearBuckets(state: EmulatorState, prefix: string): void {
  for (const key of state.buckets.keys()) {
    if (key === prefix || key.startsWith(`${prefix}:`)) state.buckets.delete(key);
  }
}

/**
 * Replaces the given rate limits (`false` turns one off) and forgets what they had counted; the
 * others keep their settings and counts. See `RateLimitOptions` for what each one limits.
 */
export function setRateLimits(state: EmulatorState, limits: RateLimitOptions): void {
  for (const kind of Object.keys(limits) as RateLimitKind[]) {
    const value = limits[kind];
    if (value === undefined) continue;
    state.rateLimits[kind] = value;
    if (kind === 'channelWebhookMessages') state.channelWebhookMessageTimes.clear();
    else clearBuckets(state, BUCKET_PREFIX[kind]);
  }
}

/** Opens a fixed window for `key` if none is open; undefined when the limit is off. */
function windowFor(
  state: EmulatorState,
  key: string,
  kind: RateLimitKind,
): { bucket: BucketState; limit: RateLimit } | undefined {
  const limit = state.rateLimits[kind];
  if (limit === false) return undefined;
  const now = state.clock();
  let bucket = state.buckets.get(key);
  if (!bucket || now >= bucket.resetAt) {
    bucket = { count: 0, resetAt: now + limit.windowMs };
    state.buckets.set(key, bucket);
  }
  return { bucket, limit };
}

/**
 * A route bucket: a fixed window per key with headers that move like Discord's (Remaining counts
 * down, Reset-After is the time left in the window). discord.js waits pre-emptively when
 * Remaining reaches 0, so a client that follows the headers never gets this 429.
 */
export function takeBucket(
  state: EmulatorState,
  key: string,
  hash: string,
  kind: RateLimitKind,
): { headers: Record<string, string> } | { limited: RouteResult } {
  const window = windowFor(state, key, kind);
  if (!window) return { headers: {} };
  const { bucket, limit } = window;
  const resetAfterMs = bucket.resetAt - state.clock();
  const headers: Record<string, string> = {
    'X-RateLimit-Limit': String(limit.limit),
    'X-RateLimit-Reset': ((Date.now() + resetAfterMs) / 1000).toFixed(3),
    'X-RateLimit-Reset-After': (resetAfterMs / 1000).toFixed(3),
    'X-RateLimit-Bucket': hash,
  };
  if (bucket.count >= limit.limit) {
    headers['X-RateLimit-Remaining'] = '0';
    const limited = rateLimitedResult('user', resetAfterMs, key);
    return { limited: { ...limited, headers: { ...headers, ...limited.headers } } };
  }
  bucket.count += 1;
  headers['X-RateLimit-Remaining'] = String(limit.limit - bucket.count);
  return { headers };
}

/** The bot token's global limit: a fixed window, like discord.js's own 50-per-second guard. */
export function takeGlobal(state: EmulatorState): RouteResult | undefined {
  const window = windowFor(state, BUCKET_PREFIX.global, 'global');
  if (!window) return undefined;
  const { bucket, limit } = window;
  if (bucket.count >= limit.limit) {
    return rateLimitedResult('global', bucket.resetAt - state.clock(), BUCKET_PREFIX.global);
  }
  bucket.count += 1;
  return undefined;
}

/**
 * Discord's undocumented limit on webhook messages per channel (about 30 a minute, shared by all
 * webhooks there; discord/discord-api-docs#367, #1454, #4043). A sliding window: at most `limit`
 * messages in any `windowMs`. It never shows in headers: a success carries only the webhook's
 * own bucket headers, and so does the 429, which adds `X-RateLimit-Scope: shared` and a
 * `Retry-After` that overrides them. Throws that 429 when the channel is full.
 *
 * Posts into a thread count toward its parent channel: whether Discord counts a thread apart is
 * not known, and counting them together is the conservative model (a bot that paces itself for
 * it is safe either way).
 */
export function checkChannelWebhookMessages(state: EmulatorState, channelId: string): void {
  const limit = state.rateLimits.channelWebhookMessages;
  if (limit === false) return;
  const now = state.clock();
  const times = (state.channelWebhookMessageTimes.get(channelId) ?? []).filter(
    (time) => time > now - limit.windowMs,
  );
  state.channelWebhookMessageTimes.set(channelId, times);
  const oldest = times[0];
  if (times.length >= limit.limit && oldest !== undefined) {
    throw new RateLimitedError(
      rateLimitedResult(
        'shared',
        oldest + limit.windowMs - now,
        `${BUCKET_PREFIX.channelWebhookMessages}:${channelId}`,
      ),
    );
  }
}

/** Counts a webhook message created in the channel toward `channelWebhookMessages`. */
export function countChannelWebhookMessage(state: EmulatorState, channelId: string): void {
  if (state.rateLimits.channelWebhookMessages === false) return;
  const times = state.channelWebhookMessageTimes.get(channelId) ?? [];
  times.push(state.clock());
  state.channelWebhookMessageTimes.set(channelId, times);
}
