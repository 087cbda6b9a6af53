import {
  type AttachmentBuilder,
  type ChatInputCommandInteraction,
  DiscordAPIError,
  type EmbedBuilder,
  RESTJSONErrorCodes,
  userMention,
} from 'discord.js';
import { NO_MENTIONS } from '../posting/mentions.ts';

export interface SlowReply {
  content?: string;
  embeds?: EmbedBuilder[];
  files?: AttachmentBuilder[];
}

/** The token's end: Discord refuses edits to an interaction after 15 minutes. */
const EXPIRED = new Set<number>([RESTJSONErrorCodes.InvalidWebhookToken, RESTJSONErrorCodes.UnknownWebhook]);

/**
 * Finishes a deferred reply to a slow command (a forge, a draft): edits it, or, when the work
 * outlived the interaction's token, posts the result in the command's channel instead.
 */
export async function finishSlowReply(
  interaction: Pick<ChatInputCommandInteraction, 'editReply' | 'channel' | 'user' | 'commandName'>,
  reply: SlowReply,
): Promise<void> {
  try {
    await interaction.editReply({ ...reply, allowedMentions: NO_MENTIONS });
  } catch (error) {
    const channel = interaction.channel;
    if (!(error instanceof DiscordAPIError) || !EXPIRED.has(Number(error.code)) || !channel?.isSendable())
      throw error;
    await channel.send({
      ...reply,
      content:
        `${userMention(interaction.user.id)} your /${interaction.commandName} took longer than Discord keeps a reply open.\n${reply.content ?? ''}`.trim(),
      allowedMentions: { users: [interaction.user.id] },
    });
  }
}
