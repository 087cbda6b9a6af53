import type { Client, SendableChannels } from 'discord.js';
import type { Config } from '../../services/config.ts';
import type { Logger } from '../../services/logger.ts';

/** A channel the bot can post in, by id; undefined when the id is unset, unknown or closed to it. */
export async function sendableChannel(
  client: Client,
  id: string | undefined,
): Promise<SendableChannels | undefined> {
  if (!id) return undefined;
  const channel = await client.channels.fetch(id).catch(() => null);
  return channel?.isSendable() ? channel : undefined;
}

/**
 * The log channel (`LOG_CHANNEL_ID`) while the bot is connected; undefined when it is unset, and
 * with a warning when it is set to a channel the bot cannot post in.
 */
export async function logChannel(
  client: Client,
  config: Pick<Config, 'logChannelId'>,
  logger: Logger,
): Promise<SendableChannels | undefined> {
  const channelId = config.logChannelId;
  if (!channelId || !client.isReady()) return undefined;
  const channel = await sendableChannel(client, channelId);
  if (!channel) logger.warn({ channelId }, 'LOG_CHANNEL_ID is not a channel the bot can post in');
  return channel;
}
