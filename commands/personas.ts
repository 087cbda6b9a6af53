import { EmbedBuilder, SlashCommandBuilder } from 'discord.js';
import type { Command } from '../src/bot/command.ts';

/** `/personas`: who is in the codex. */
const personas: Command = {
  data: new SlashCommandBuilder()
    .setName('personas')
    .setDescription('Who the personas are: role, model and principles')
    .toJSON(),
  async execute(interaction, ctx) {
    const registry = ctx.runtime.personas();
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
              `${persona.principles.length} principle${persona.principles.length === 1 ? '' : 's'}`,
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
