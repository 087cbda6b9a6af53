import {
  ChannelType,
  channelMention,
  InteractionContextType,
  SlashCommandBuilder,
  ThreadAutoArchiveDuration,
  type ThreadChannel,
} from 'discord.js';
import type { Command } from '../src/bot/command.ts';
import { threadNameFor } from '../src/bot/events/messageCreate.ts';
import { NO_MENTIONS } from '../src/bot/personaPoster.ts';

/** `/ask task:<text>`: the same as mentioning the bot with the task. */
const ask: Command = {
  data: new SlashCommandBuilder()
    .setName('ask')
    .setDescription('Give ALFRED, BRICK and ROBIN a task to work out in a thread')
    .addStringOption((option) =>
      option.setName('task').setDescription('What should they work on?').setRequired(true).setMaxLength(4000),
    )
    .setContexts(InteractionContextType.Guild)
    .toJSON(),
  async execute(interaction, ctx) {
    const task = interaction.options.getString('task', true).trim();
    const channel = interaction.channel;
    let thread: ThreadChannel;
    if (channel?.isThread()) {
      thread = channel;
      await ctx.registerThread(thread.id, {
        channelId: thread.parentId ?? thread.id,
        userId: interaction.user.id,
      });
      await interaction.reply({
        content: `**${interaction.user.username} asked:** ${task}`,
        allowedMentions: NO_MENTIONS,
      });
    } else if (channel?.type === ChannelType.GuildText || channel?.type === ChannelType.GuildAnnouncement) {
      thread = await channel.threads.create({
        name: threadNameFor(task, `Task from ${interaction.user.username}`),
        autoArchiveDuration: ThreadAutoArchiveDuration.OneDay,
        reason: `/ask by ${interaction.user.username}`,
      });
      await ctx.registerThread(thread.id, { channelId: channel.id, userId: interaction.user.id });
      await interaction.reply({
        content: `🧵 The personas are on it in ${channelMention(thread.id)}.`,
        allowedMentions: NO_MENTIONS,
      });
      await thread.send({
        content: `**${interaction.user.username} asked:** ${task}`,
        allowedMentions: NO_MENTIONS,
      });
    } else {
      await interaction.reply({ content: 'Use /ask in a server text channel.', flags: 64 });
      return;
    }
    void ctx.runner.run(thread, task, { userId: interaction.user.id });
  },
};

export default ask;
