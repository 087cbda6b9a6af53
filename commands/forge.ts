import { InteractionContextType, SlashCommandBuilder } from 'discord.js';
import type { Command } from '../src/bot/command.ts';
import { NO_MENTIONS } from '../src/bot/personaPoster.ts';
import { splitMessage } from '../src/bot/splitMessage.ts';
import { toolCard } from '../src/bot/toolCard.ts';

/**
 * `/forge tool spec:<text>`: the tool forge on demand — reuse a stored tool or design, write,
 * test and register a new one. The architect's, unless `FORGE_OPEN_TO_ALL=true`.
 */
const forge: Command = {
  data: new SlashCommandBuilder()
    .setName('forge')
    .setDescription('Make the personas a new tool')
    .setContexts(InteractionContextType.Guild)
    .addSubcommand((sub) =>
      sub
        .setName('tool')
        .setDescription('Design, write, test in the sandbox and register a tool from a specification')
        .addStringOption((o) =>
          o
            .setName('spec')
            .setDescription('What the tool must do: its input and its output')
            .setRequired(true)
            .setMinLength(10)
            .setMaxLength(1500),
        ),
    )
    .toJSON(),
  defer: 'public',
  architectOnly: (_interaction, config) => !config.forgeOpenToAll,
  async execute(interaction, ctx) {
    const spec = interaction.options.getString('spec', true);
    const { tools, toolForge } = ctx.runtime;
    const result = await toolForge.forge({
      spec,
      conversationId: interaction.channelId,
      requestedBy: interaction.user.id,
      task: spec,
    });
    const tool =
      result.status === 'created' && result.tool
        ? tools.registry.get(result.tool.name, result.tool.version)
        : undefined;
    if (tool) {
      await interaction.editReply({ ...toolCard(tool.manifest, tool.code), allowedMentions: NO_MENTIONS });
      return;
    }
    const [first, ...rest] = splitMessage(`🔧 ${result.message}`);
    await interaction.editReply({ content: first ?? result.message, allowedMentions: NO_MENTIONS });
    for (const part of rest) await interaction.followUp({ content: part, allowedMentions: NO_MENTIONS });
  },
};

export default forge;
