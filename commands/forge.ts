import { InteractionContextType, SlashCommandBuilder } from 'discord.js';
import type { Command, PortsOf } from '../src/bot/command.ts';
import { finishSlowReply, toolCard } from '../src/bot/kit.ts';
import { truncate } from '../src/shared/text.ts';

/**
 * `/forge tool spec:<text>`: the tool forge on demand — reuse a stored tool or design, write,
 * test and register a new one. The architect's, unless `FORGE_OPEN_TO_ALL=true`.
 */
const forge: Command<PortsOf<'tools' | 'toolForge'>> = {
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
  async execute(interaction, { tools, toolForge }) {
    const spec = interaction.options.getString('spec', true);
    const result = await toolForge.forge({
      spec,
      conversationId: interaction.channelId,
      requestedBy: interaction.user.id,
      task: spec,
      guildId: interaction.guildId,
    });
    const tool =
      result.status === 'created' && result.tool
        ? tools.registry.get(result.tool.name, result.tool.version)
        : undefined;
    if (tool) {
      await finishSlowReply(interaction, toolCard(tool.manifest, tool.code));
      return;
    }
    await finishSlowReply(interaction, { content: truncate(`🔧 ${result.message}`, 2000) });
  },
};

export default forge;
