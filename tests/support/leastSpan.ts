import type { RateLimit } from './discordEmulator.ts';

/**
 * The least time, in ms, from the first to the last of `count` webhook messages that both limits
 * allow: message i waits for its webhook window (a window holds `webhook.limit`) and for the
 * message `channel.limit` before it to leave the channel's sliding window. Sending each as early
 * as allowed is optimal for identical messages, so this is a lower bound for any client.
 */
export function leastSpan(count: number, webhook: RateLimit, channel: RateLimit): number {
  const times: number[] = [];
  for (let i = 0; i < count; i += 1) {
    const byWebhook = Math.floor(i / webhook.limit) * webhook.windowMs;
    const byChannel = i >= channel.limit ? (times[i - channel.limit] ?? 0) + channel.windowMs : 0;
    times.push(Math.max(byWebhook, byChannel, times[i - 1] ?? 0));
  }
  return times.at(-1) ?? 0;
}
