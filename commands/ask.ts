import {
  ChannelType,
  channelMention,
  InteractionContextType,
  MessageFlags,
  SlashCommandBuilder,
} from 'discord.js';
import type { Command, PortsOf } from '../src/bot/interactions/command.ts';
import { NO_MENTIONS, threadNameFor } from '../src/bot/kit.ts';

/** `/ask task:<text>`: the same as mentioning the bot with the task. */
const ask: Command<PortsOf<'dialogues' | 'memory'>> = {
  data: new SlashCommandBuilder()
    .setName('ask')
    .setDescription('Give ALFRED, BRICK and ROBIN a task to work out in a thread')
    .addStringOption((option) =>
      option.setName('task').setDescription('What should they work on?').setRequired(true).setMaxLength(4000),
    )
    .setContexts(InteractionContextType.Guild)
    .toJSON(),
  async execute(interaction, { dialogues, memory }) {
    const task = interaction.options.getString('task', true).trim();
    // Recall's embedding starts now, beside the thread's creation.
    memory.prefetch(task);
    const channel = interaction.channel;
    const asked = `**${interaction.user.username} asked:** ${task}`;
    if (channel?.isThread()) {
      const continued = await dialogues.continueIn(channel, task, interaction.user.id);
      if (!continued.ok) {
        await interaction.reply({ content: `⏳ ${continued.reason}`, flags: MessageFlags.Ephemeral });
        return;
      }
      await interaction.reply({ content: asked, allowedMentions: NO_MENTIONS });
      return;
    }
    if (channel?.type !== ChannelType.GuildText && channel?.type !== ChannelType.GuildAnnouncement) {
      await interaction.reply({
        content: 'Use /ask in a server text channel.',
        flags: MessageFlags.Ephemeral,
      });
      return;
    }
    const started = await dialogues.start({
      origin: { channel, firstPost: asked },
      name: threadNameFor(task, `Task from ${interaction.user.username}`),
      userId: interaction.user.id,
      task,
      reason: `/ask by ${interaction.user.username}`,
    });
    if (!started.ok) {
      const mark = started.code === 'RATE_LIMITED' ? '⏳' : '⚠️';
      await interaction.reply({ content: `${mark} ${started.reason}`, flags: MessageFlags.Ephemeral });
      return;
    }
    await interaction.reply({
      content: `🧵 The personas are on it in ${channelMention(started.thread.id)}.`,
      allowedMentions: NO_MENTIONS,
    });
  },
};

export default ask;
