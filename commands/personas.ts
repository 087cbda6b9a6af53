import { EmbedBuilder, SlashCommandBuilder } from 'discord.js';
import type { Command, CommandCall, PortsOf } from '../src/bot/interactions/command.ts';
import type { FineTuner } from '../src/services/finetune/fineTuner.ts';
import type { Persona } from '../src/services/personas.ts';
import { plural } from '../src/shared/text.ts';

/** The model in force, and where it comes from: the codex's own, or a fine-tuned version of it. */
async function modelLine(
  persona: Persona,
  fineTuner: Pick<FineTuner, 'active' | 'versions'>,
): Promise<string> {
  const active = await fineTuner.active(persona.id);
  const version =
    active && active.version > 0
      ? (await fineTuner.versions(persona.id)).find((v) => v.version === active.version)
      : undefined;
  if (!active || !version) return `Model: \`${persona.model}\` · temperature ${persona.temperature}`;
  return [
    `Model: \`${version.model}\` · temperature ${persona.temperature}`,
    `-# fine-tuned v${version.version} of \`${version.fromModel}\` (${version.base}) on ${version.samples} samples · dataset \`${version.datasetHash.slice(0, 10)}\`${version.evaluation ? ` · won ${(version.evaluation.score * 100).toFixed(0)}% of ${version.evaluation.prompts}` : ''}`,
  ].join('\n');
}

/** `/personas`: who is in the codex. */
const personas: Command<
  { personas: PortsOf<'personas'>['personas']; fineTuner: Pick<FineTuner, 'active' | 'versions'> },
  CommandCall
> = {
  data: new SlashCommandBuilder()
    .setName('personas')
    .setDescription('Who the personas are: role, model and principles')
    .toJSON(),
  async execute(interaction, ports) {
    const registry = ports.personas();
    const fields = await Promise.all(
      registry
        .list()
        .slice(0, 25)
        .map(async (persona) => ({
          name: persona.displayName,
          value: [
            persona.role,
            await modelLine(persona, ports.fineTuner),
            plural(persona.principles.length, 'principle'),
          ]
            .join('\n')
            .slice(0, 1024),
        })),
    );
    const embed = new EmbedBuilder()
      .setTitle(`The personas (codex v${registry.codexVersion})`)
      .addFields(fields)
      .setFooter({ text: `${registry.corePrinciples.length} immutable core principles` });
    await interaction.reply({ embeds: [embed] });
  },
};

export default personas;
