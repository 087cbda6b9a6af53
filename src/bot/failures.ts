import { randomUUID } from 'node:crypto';
import { DiscordAPIError } from 'discord.js';
import { findAppError } from '../services/errors.ts';
import type { Logger } from '../services/logger.ts';

/**
 * The one place that turns an error into words for Discord, by its kind: what the person can act
 * on for a `user` error (a setting to fix), a short notice for an `operational` one (Ollama down
 * or busy), and an incident id (the details in the log) for a bug. The words are public ones: no
 * server address, path or command line (an AppError's `publicMessage`); the log gets the whole
 * error, and {@link failureDetail} the operator's words for an architect.
 */
export function describeFailure(
  error: unknown,
  logger: Logger,
  context: Record<string, unknown> = {},
): string {
  const known = findAppError(error);
  if (known?.kind === 'user') {
    // The operator or the person fixes it (a setting, a missing model): nothing for the log's error level.
    logger.info({ ...context, code: known.code }, known.message);
    return `⚠️ ${known.publicMessage}`;
  }
  if (known?.kind === 'operational') {
    logger.warn({ ...context, code: known.code, err: error }, known.message);
    return `⚠️ ${known.publicMessage}${known.retryable ? ' (I tried again a few times first.)' : ''}`;
  }
  if (!known && error instanceof DiscordAPIError) {
    logger.warn(
      { ...context, discordCode: error.code, status: error.status, err: error },
      'Discord refused a request',
    );
    return `⚠️ Discord refused a post (${error.code}: ${error.message}).`;
  }
  const incident = randomUUID().slice(0, 8);
  logger.error({ ...context, incident, code: known?.code, err: error }, 'unexpected failure');
  return `⚠️ Something went wrong on my side (incident \`${incident}\`); the details are in the bot's log.`;
}

/**
 * What the public words of {@link describeFailure} leave out, for an architect's eyes only: the
 * operator's message (the server's address, the paths), or a bug's own message. Undefined when
 * nothing was left out, or for Discord's own refusals (said in full already).
 */
export function failureDetail(error: unknown): string | undefined {
  const known = findAppError(error);
  if (known) return known.message === known.publicMessage ? undefined : known.message;
  if (error instanceof DiscordAPIError) return undefined;
  return error instanceof Error ? error.message : String(error);
}
