import {
  EmbedBuilder,
  InteractionContextType,
  SlashCommandBuilder,
  TimestampStyles,
  time,
  userMention,
} from 'discord.js';
import type { Command, PortsOf } from '../src/bot/interactions/command.ts';
import { finetuneEmbed, finishSlowReply, personaOption, toolCard } from '../src/bot/kit.ts';
import { truncate } from '../src/shared/text.ts';

const ARCHITECT_ONLY = new Set(['finetune', 'rollback']);

/**
 * `/forge tool spec:<text>`: the tool forge on demand (the architect's unless
 * `FORGE_OPEN_TO_ALL=true`). `/forge finetune|rollback|status`: the UnslothForge — fine-tune a
 * persona now, flip it back to an earlier version, see the current or last job.
 */
const forge: Command<PortsOf<'tools' | 'toolForge' | 'fineTuner' | 'personas'>> = {
  data: new SlashCommandBuilder()
    .setName('forge')
    .setDescription('Make the personas a new tool, or fine-tune a persona')
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
    .addSubcommand((sub) =>
      sub
        .setName('finetune')
        .setDescription('Fine-tune a persona on its golden set now (architect)')
        .addStringOption(personaOption),
    )
    .addSubcommand((sub) =>
      sub
        .setName('rollback')
        .setDescription('Flip a persona back to an earlier model version, at once (architect)')
        .addStringOption(personaOption)
        .addIntegerOption((o) =>
          o
            .setName('version')
            .setDescription('The version (0: the codex’s own model; default: the one before)')
            .setMinValue(0)
            .setAutocomplete(true),
        ),
    )
    .addSubcommand((sub) =>
      sub
        .setName('status')
        .setDescription('The current or last fine-tune, and each persona’s model in force'),
    )
    .toJSON(),
  defer: 'public',
  architectOnly: (interaction, config) => {
    const sub = interaction.options.getSubcommand();
    return ARCHITECT_ONLY.has(sub) || (sub === 'tool' && !config.forgeOpenToAll);
  },
  autocomplete(interaction, { fineTuner, personas }) {
    const focused = interaction.options.getFocused(true);
    if (focused.name === 'persona') {
      return personas()
        .list()
        .map((p) => ({ name: `${p.displayName} (${fineTuner.activeModel(p.id) ?? p.model})`, value: p.id }));
    }
    // Versions of the persona named so far: the codex's own, then each fine-tuned one.
    const persona = (interaction.options.getString('persona') ?? '').trim().toUpperCase();
    if (!personas().has(persona)) return [];
    return [
      { name: `0 · ${personas().get(persona).model} (the codex's own)`, value: 0 },
      ...fineTuner
        .versions(persona)
        .reverse()
        .map((v) => ({
          name: `${v.version} · ${v.model} · ${v.samples} samples${v.evaluation ? ` · won ${(v.evaluation.score * 100).toFixed(0)}%` : ''}`,
          value: v.version,
        })),
    ];
  },
  async execute(interaction, { tools, toolForge, fineTuner, personas }) {
    const sub = interaction.options.getSubcommand();
    if (sub === 'finetune') {
      const persona = interaction.options.getString('persona', true).trim().toUpperCase();
      const started = fineTuner.start(persona, { trigger: 'command', requestedBy: interaction.user.id });
      await finishSlowReply(interaction, {
        content: started.ok
          ? `🧠 Fine-tune ${started.job.id} of ${persona} started; its progress is in the log channel.`
          : `🧠 ${started.reason}`,
      });
      return;
    }
    if (sub === 'rollback') {
      const persona = interaction.options.getString('persona', true).trim().toUpperCase();
      const version = interaction.options.getInteger('version') ?? undefined;
      const rolled = fineTuner.rollback(persona, interaction.user.id, version);
      await finishSlowReply(interaction, {
        content: rolled.ok
          ? `↩️ ${persona} now speaks through \`${rolled.active.model}\` (version ${rolled.active.version}), from the next turn.`
          : `↩️ ${rolled.reason}`,
      });
      return;
    }
    if (sub === 'status') {
      const job = fineTuner.current();
      const models = personas()
        .list()
        .map((p) => {
          const active = fineTuner.active(p.id);
          const versions = fineTuner.versions(p.id).length;
          return active && active.version > 0
            ? `**${p.displayName}**: \`${active.model}\` (v${active.version} of ${versions}) since ${time(new Date(active.since), TimestampStyles.ShortDateTime)}${active.by !== 'system' ? ` by ${userMention(active.by)}` : ''}`
            : `**${p.displayName}**: \`${p.model}\` (the codex's own)${p.finetuneBase ? '' : ' · not fine-tuned: no finetune_base'}`;
        });
      const embeds = [
        new EmbedBuilder().setTitle('🧠 Models in force').setDescription(models.join('\n').slice(0, 4096)),
      ];
      if (job) embeds.push(finetuneEmbed(job));
      await finishSlowReply(interaction, {
        embeds,
        ...(job ? {} : { content: 'No fine-tune has run yet.' }),
      });
      return;
    }
    const spec = interaction.options.getString('spec', true);
    const result = await toolForge.forge({
      spec,
      conversationId: interaction.channelId,
      requestedBy: interaction.user.id,
      task: spec,
      guildId: interaction.guildId,
      channelId: interaction.channelId,
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
