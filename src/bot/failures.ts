import { randomUUID } from 'node:crypto';
import { DiscordAPIError } from 'discord.js';
import { findAppError } from '../services/errors.ts';
import type { Logger } from '../services/logger.ts';

/**
 * The one place that turns an error into words for Discord: what the person can act on for
 * known errors, an incident id (and the details in the log) for everything else.
 */
export function describeFailure(
  error: unknown,
  logger: Logger,
  context: Record<string, unknown> = {},
): string {
  const known = findAppError(error);
  if (known) {
    logger.warn({ ...context, code: known.code, err: error }, known.message);
    return `⚠️ ${known.message}`;
  }
  if (error instanceof DiscordAPIError) {
    logger.warn(
      { ...context, discordCode: error.code, status: error.status, err: error },
      'Discord refused a request',
    );
    return `⚠️ Discord refused a post (${error.code}: ${error.message}).`;
  }
  const incident = randomUUID().slice(0, 8);
  logger.error({ ...context, incident, err: error }, 'unexpected failure');
  return `⚠️ Something went wrong on my side (incident \`${incident}\`); the details are in the bot's log.`;
}
