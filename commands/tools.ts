import {
  type ChatInputCommandInteraction,
  EmbedBuilder,
  InteractionContextType,
  SlashCommandBuilder,
  type SlashCommandStringOption,
  userMention,
} from 'discord.js';
import type { Asker } from '../src/bot/access/architects.ts';
import type { Command, PortsOf } from '../src/bot/interactions/command.ts';
import { finishSlowReply, NO_MENTIONS, toolCard } from '../src/bot/kit.ts';
import type { StoredTool } from '../src/services/tools/toolRegistry.ts';
import { truncate } from '../src/shared/text.ts';

const nameOption = (description: string) => (o: SlashCommandStringOption) =>
  o.setName('name').setDescription(description).setRequired(true).setMaxLength(48).setAutocomplete(true);

/**
 * Runs the tool forge on a specification: design, code, tests in the sandbox, registration. The
 * card (code attached) is the reply; the log channel gets its own.
 */
export async function forgeTool(
  interaction: ChatInputCommandInteraction,
  { tools, toolForge, access }: PortsOf<'tools' | 'toolForge' | 'access'>,
): Promise<void> {
  const spec = interaction.options.getString('spec', true);
  const result = await toolForge.forge({
    spec,
    conversationId: interaction.channelId,
    requestedBy: interaction.user.id,
    forgedFor: interaction.user.id,
    task: spec,
    guildId: interaction.guildId,
    channelId: interaction.channelId,
    // Shown to this channel's readers: a tool from where they may not read is not reused here.
    placeId: access.placeOf(interaction.channelId),
    readableChannels: access.sharedWith(interaction.channelId),
  });
  const tool =
    result.status === 'created' && result.tool
      ? tools.registry.get(result.tool.name, result.tool.version)
      : undefined;
  await finishSlowReply(
    interaction,
    tool ? toolCard(tool.manifest, tool.code) : { content: truncate(`🔧 ${result.message}`, 2000) },
  );
}

/** The tool forge on demand: a specification's option. */
export const specOption = (o: SlashCommandStringOption) =>
  o
    .setName('spec')
    .setDescription('What the tool must do: its input and its output')
    .setRequired(true)
    .setMinLength(10)
    .setMaxLength(1500);

/**
 * This server's tools (and those forged outside any server), newest versions, of those only the
 * ones the asker may read where they were forged (their specs may quote a private dialogue).
 */
async function readableTools(
  asker: Asker,
  { tools, access }: PortsOf<'tools' | 'access'>,
): Promise<StoredTool[]> {
  const canRead = access.reader(asker);
  const shelf = tools.shelf({ guildId: asker.guildId });
  const readable = await Promise.all(
    shelf.map(({ manifest }) => manifest.channelId === undefined || canRead(manifest.channelId)),
  );
  return shelf.filter((_, i) => readable[i]);
}

/**
 * `/tools list|show|forge|remove`: the forged tools, their manifests and code; the forge on
 * demand (the architect's unless `FORGE_OPEN_TO_ALL=true`); removal archives (the architect's).
 */
const tools: Command<PortsOf<'tools' | 'toolForge' | 'logger' | 'config' | 'client' | 'access'>> = {
  data: new SlashCommandBuilder()
    .setName('tools')
    .setDescription('The tools the personas have forged')
    .setContexts(InteractionContextType.Guild)
    .addSubcommand((sub) => sub.setName('list').setDescription('Every registered tool'))
    .addSubcommand((sub) =>
      sub
        .setName('show')
        .setDescription('A tool with its manifest and code attached')
        .addStringOption(nameOption('The tool’s name')),
    )
    .addSubcommand((sub) =>
      sub
        .setName('forge')
        .setDescription('Design, write, test in the sandbox and register a tool from a specification')
        .addStringOption(specOption),
    )
    .addSubcommand((sub) =>
      sub
        .setName('remove')
        .setDescription('Archive a tool so the personas no longer use it (architect only)')
        .addStringOption(nameOption('The tool’s name')),
    )
    .toJSON(),
  // A forged tool's card is for the channel to see; the rest is for the asker.
  defer: (interaction) => (interaction.options.getSubcommand() === 'forge' ? 'public' : 'ephemeral'),
  architectOnly: (interaction, config) => {
    const sub = interaction.options.getSubcommand();
    return sub === 'remove' || (sub === 'forge' && !config.forgeOpenToAll);
  },
  // A forge runs the models for rounds: it counts against the member's runs, as a dialogue does.
  limited: (interaction) => interaction.options.getSubcommand() === 'forge',
  async autocomplete(interaction, ports) {
    await ports.tools.registry.refresh();
    return (await readableTools(interaction, ports)).map(({ manifest }) => ({
      name: `${manifest.name} (v${manifest.version})`,
      value: manifest.name,
    }));
  },
  async execute(interaction, ports) {
    const { tools: toolService, logger, config, client, access } = ports;
    const { registry } = toolService;
    // Tools forged in another server are not shown here (their specs may quote its dialogues).
    const scope = { guildId: interaction.guildId };
    const sub = interaction.options.getSubcommand();
    if (sub === 'forge') {
      await forgeTool(interaction, ports);
      return;
    }
    // What other processes forged or removed counts (with PostgreSQL).
    await registry.refresh();
    if (sub === 'list') {
      const all = await readableTools(interaction, ports);
      if (all.length === 0) {
        await interaction.editReply({
          content:
            'No tools yet. BRICK forges one when a dialogue needs it, or an architect runs `/tools forge`.',
        });
        return;
      }
      const lines = all.map(({ manifest }) => {
        const passed = manifest.tests.filter((t) => t.passed).length;
        return `**${manifest.name}** v${manifest.version} — ${truncate(manifest.description, 160)}\n-# ${passed}/${manifest.tests.length} tests · ${manifest.createdAt.slice(0, 10)}`;
      });
      let description = '';
      let shown = 0;
      for (const line of lines) {
        if (description.length + line.length + 40 > 4096) break;
        description += `${description ? '\n' : ''}${line}`;
        shown++;
      }
      if (shown < lines.length) description += `\n…and ${lines.length - shown} more`;
      const embed = new EmbedBuilder()
        .setTitle(`🔧 ${all.length} forged tool${all.length === 1 ? '' : 's'}`)
        .setDescription(description);
      await interaction.editReply({ embeds: [embed] });
      return;
    }

    const name = interaction.options.getString('name', true).trim().toLowerCase();
    const found = toolService.find(name, scope);
    // A tool from a place the asker may not read is, to them, no tool (an architect may still remove it).
    const tool =
      sub === 'show' &&
      found?.manifest.channelId &&
      !(await access.reader(interaction)(found.manifest.channelId))
        ? undefined
        : found;
    if (!tool) {
      await interaction.editReply({
        content: `There is no tool named \`${truncate(name, 48)}\`. \`/tools list\` shows them.`,
      });
      return;
    }
    if (sub === 'show') {
      const versions = registry.versions(name);
      await interaction.editReply({
        ...toolCard(tool.manifest, tool.code, {
          title: `🔧 ${name} v${tool.manifest.version}${versions.length > 1 ? ` (versions ${versions.join(', ')})` : ''}`,
          withManifest: true,
        }),
        allowedMentions: NO_MENTIONS,
      });
      return;
    }

    // remove: the router has already checked the architect role.
    const archived = await toolService.remove(name);
    logger.info({ tool: name, userId: interaction.user.id, archived }, 'tool removed');
    await interaction.editReply({
      content: `Removed \`${name}\`: the personas no longer see it. ${registry.archiveNote(archived ?? '')}`,
    });
    if (config.logChannelId) {
      const channel = await client.channels.fetch(config.logChannelId).catch(() => null);
      if (channel?.isSendable()) {
        await channel.send({
          content: `🗑️ ${userMention(interaction.user.id)} removed the tool \`${name}\` (archived).`,
          allowedMentions: NO_MENTIONS,
        });
      }
    }
  },
};

export default tools;
