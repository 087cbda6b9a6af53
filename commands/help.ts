import { EmbedBuilder, MessageFlags, SlashCommandBuilder } from 'discord.js';
import type { ArchitectGate } from '../src/bot/access/architects.ts';
import type { Command, CommandCall, CommandInfo } from '../src/bot/interactions/command.ts';
import type { Config } from '../src/services/config.ts';

/** Whether a command (or one of its subcommands) is for the architect alone. */
function architectsOnly(command: CommandInfo, subcommand: string | undefined, config: Config): boolean {
  if (typeof command.architectOnly !== 'function') return command.architectOnly === true;
  // The rule reads the subcommand the member would run: ask it about each in turn.
  const asked: CommandCall = {
    commandName: command.data.name,
    user: { id: '', username: '' },
    guildId: null,
    channelId: '',
    options: {
      getSubcommand: () => subcommand ?? '',
      getString: () => '',
      getInteger: () => 0,
    },
    reply: async () => undefined,
    editReply: async () => undefined,
  };
  return command.architectOnly(asked, config);
}

/** `/help`: every command the member may use, and how a mention works. */
const help: Command<
  { commandList: () => readonly CommandInfo[]; architects: Pick<ArchitectGate, 'check'>; config: Config },
  CommandCall
> = {
  data: new SlashCommandBuilder()
    .setName('help')
    .setDescription('What the personas can do, and how to ask them')
    .toJSON(),
  async execute(interaction, { commandList, architects, config }) {
    const architect = interaction.guildId ? (await architects.check(interaction)).ok : false;
    const lines: string[] = [];
    const current = commandList().filter((command) => !command.aliasOf);
    for (const command of [...current].sort((a, b) => a.data.name.localeCompare(b.data.name))) {
      const subcommands = (command.data.options ?? []).filter((o) => o.type === 1);
      if (subcommands.length === 0) {
        if (!architect && architectsOnly(command, undefined, config)) continue;
        lines.push(`**/${command.data.name}** — ${command.data.description}`);
        continue;
      }
      for (const sub of subcommands) {
        const restricted = architectsOnly(command, sub.name, config);
        if (restricted && !architect) continue;
        lines.push(
          `**/${command.data.name} ${sub.name}** — ${sub.description}${restricted ? ' *(architect)*' : ''}`,
        );
      }
    }
    const embed = new EmbedBuilder()
      .setTitle('BAT OS — ALFRED, BRICK and ROBIN')
      .setDescription(
        [
          '**Mention me with a task** in a channel — `@BAT OS how should we plan the offsite?` — and ALFRED plans, BRICK and ROBIN argue it out, and ALFRED answers, each under their own name in a thread on your message. Reply in the thread to go on; no mention needed there. Text files attached to the message are read as part of the task.',
          '',
          ...lines,
        ]
          .join('\n')
          .slice(0, 4096),
      )
      .setFooter({
        text: architect
          ? 'You hold the architect role: commands marked (architect) are yours.'
          : 'Some commands are for the architect role and are not listed.',
      });
    await interaction.reply({ embeds: [embed], flags: MessageFlags.Ephemeral });
  },
};

export default help;
