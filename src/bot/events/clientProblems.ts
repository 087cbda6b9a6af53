import { type Client, Events } from 'discord.js';
import type { Logger } from '../../services/logger.ts';

/** What the client itself reports going wrong: its errors and warnings, to the log. */
export function logClientProblems(client: Client, logger: Logger): void {
  client.on(Events.Error, (error) => logger.error({ err: error }, 'discord client error'));
  client.on(Events.Warn, (message) => logger.warn(message));
}
