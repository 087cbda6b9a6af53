import type { Client } from 'discord.js';
import type { Metrics } from '../../services/metrics.ts';

/** Discord's 429s, counted by scope: the posting lane keeps them rare, and the metric proves it. */
export function countRateLimits(client: Client, metrics: Pick<Metrics, 'discordRateLimited'>): void {
  client.rest.on('response', (_request, response) => {
    if (response.status === 429)
      metrics.discordRateLimited(response.headers.get('x-ratelimit-scope') ?? 'user');
  });
}
