import { EmbedBuilder, SlashCommandBuilder } from 'discord.js';
import type { Command, CommandCall, PortsOf } from '../src/bot/command.ts';
import { plural } from '../src/shared/text.ts';

/** `/personas`: who is in the codex. */
const personas: Command<PortsOf<'personas'>, CommandCall> = {
  data: new SlashCommandBuilder()
    .setName('personas')
    .setDescription('Who the personas are: role, model and principles')
    .toJSON(),
  async execute(interaction, ports) {
    const registry = ports.personas();
    const embed = new EmbedBuilder()
      .setTitle(`The personas (codex v${registry.codexVersion})`)
      .addFields(
        registry
          .list()
          .slice(0, 25)
          .map((persona) => ({
            name: persona.displayName,
            value: [
              persona.role,
              `Model: \`${persona.model}\` · temperature ${persona.temperature}`,
              plural(persona.principles.length, 'principle'),
            ]
              .join('\n')
              .slice(0, 1024),
          })),
      )
      .setFooter({ text: `${registry.corePrinciples.length} immutable core principles` });
    await interaction.reply({ embeds: [embed] });
  },
};

export default personas;
