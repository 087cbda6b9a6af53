import { type Client, channelMention } from 'discord.js';
import type { Config } from '../../services/config.ts';
import type { EventBus } from '../../services/eventBus.ts';
import type { Logger } from '../../services/logger.ts';
import type { ChannelAccess } from '../access/channelAccess.ts';
import { toolCard } from '../cards/toolCard.ts';
import { logChannel } from '../posting/channels.ts';
import { NO_MENTIONS } from '../posting/mentions.ts';

/**
 * Every new tool is announced in `LOG_CHANNEL_ID` with its card, saying where it was asked for,
 * when the log channel's readers may all read that place: a tool's spec and tests may quote the
 * dialogue it was forged in. (The thread or the `/forge` reply that asked shows its own card:
 * the runner and the command post it; this is the log's copy.)
 */
export function announceTools(deps: {
  bus: EventBus;
  client: Client;
  config: Pick<Config, 'logChannelId'>;
  logger: Logger;
  access: Pick<ChannelAccess, 'sharedWith'>;
}): () => void {
  return deps.bus.subscribe('tool_forged', async ({ tool, code, channelId: askedIn }) => {
    const channel = await logChannel(deps.client, deps.config, deps.logger);
    if (!channel) return;
    if (tool.channelId && !deps.access.sharedWith(channel.id).includes(tool.channelId)) {
      deps.logger.info(
        { tool: tool.name, version: tool.version, channelId: tool.channelId },
        'tool card kept out of the log channel: its readers may not read where it was forged',
      );
      return;
    }
    await channel.send({
      ...toolCard(tool, code),
      ...(askedIn ? { content: `-# asked for in ${channelMention(askedIn)}` } : {}),
      allowedMentions: NO_MENTIONS,
    });
  });
}
