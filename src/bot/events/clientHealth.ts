import { type Client, Events } from 'discord.js';
import type { Logger } from '../../services/logger.ts';
import type { Metrics } from '../../services/metrics.ts';

/**
 * What the client itself reports: its errors and warnings to the log, and Discord's 429s counted
 * by scope (the posting lane keeps them rare; the metric proves it).
 */
export function watchClient(
  client: Client,
  deps: { metrics: Pick<Metrics, 'discordRateLimited'>; logger: Logger },
): void {
  client.rest.on('response', (_request, response) => {
    if (response.status === 429)
      deps.metrics.discordRateLimited(response.headers.get('x-ratelimit-scope') ?? 'user');
  });
  client.on(Events.Error, (error) => deps.logger.error({ err: error }, 'discord client error'));
  client.on(Events.Warn, (message) => deps.logger.warn(message));
}
