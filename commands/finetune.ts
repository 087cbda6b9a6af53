import {
  type ChatInputCommandInteraction,
  EmbedBuilder,
  InteractionContextType,
  MessageFlags,
  SlashCommandBuilder,
  type SlashCommandIntegerOption,
  TimestampStyles,
  time,
  userMention,
} from 'discord.js';
import type { AutocompleteCall, Choice, Command, PortsOf } from '../src/bot/interactions/command.ts';
import {
  finetuneDetail,
  finetuneEmbed,
  finishSlowReply,
  NO_MENTIONS,
  personaOption,
} from '../src/bot/kit.ts';
import { truncate } from '../src/shared/text.ts';

/** The version to roll back to, completed from the persona's lineage. */
export const versionOption = (o: SlashCommandIntegerOption) =>
  o
    .setName('version')
    .setDescription('The version (0: the codex’s own model; default: the one before)')
    .setMinValue(0)
    .setAutocomplete(true);

type FinetunePorts = PortsOf<'fineTuner' | 'personas' | 'architects'>;

const ARCHITECT_ONLY = new Set(['run', 'rollback']);

/** Fine-tunes a persona on its golden set now. */
export async function startFinetune(interaction: ChatInputCommandInteraction, { fineTuner }: FinetunePorts) {
  const persona = interaction.options.getString('persona', true).trim().toUpperCase();
  const started = await fineTuner.start(persona, { trigger: 'command', requestedBy: interaction.user.id });
  await finishSlowReply(interaction, {
    content: started.ok
      ? `🧠 Fine-tune ${started.job.id} of ${persona} started; its progress is in the log channel.`
      : `🧠 ${started.reason}`,
  });
}

/** Flips a persona back to an earlier model version (the one before, by default), at once. */
export async function rollbackFinetune(
  interaction: ChatInputCommandInteraction,
  { fineTuner }: FinetunePorts,
) {
  const persona = interaction.options.getString('persona', true).trim().toUpperCase();
  const version = interaction.options.getInteger('version') ?? undefined;
  const rolled = fineTuner.rollback(persona, interaction.user.id, version);
  await finishSlowReply(interaction, {
    content: rolled.ok
      ? `↩️ ${persona} now speaks through \`${rolled.active.model}\` (version ${rolled.active.version}), from the next turn.`
      : `↩️ ${rolled.reason}`,
  });
}

/**
 * Each persona's model in force, and the current or last job, for the channel to see. What the
 * job's message leaves out (a failure's paths, the trainer's command line) an architect who
 * asks gets privately, below it.
 */
export async function finetuneStatus(
  interaction: ChatInputCommandInteraction,
  { fineTuner, personas, architects }: FinetunePorts,
) {
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
  await finishSlowReply(interaction, { embeds, ...(job ? {} : { content: 'No fine-tune has run yet.' }) });
  const detail = job ? finetuneDetail(job) : undefined;
  if (detail && (await architects.check(interaction)).ok) {
    await interaction.followUp({
      content: truncate(
        `-# Only you see this, as an architect: what the message leaves out.\n${detail}`,
        2000,
      ),
      flags: MessageFlags.Ephemeral,
      allowedMentions: NO_MENTIONS,
    });
  }
}

/** Persona names with the model each speaks through now; then the versions of the persona named. */
export function finetuneChoices(
  interaction: AutocompleteCall,
  { fineTuner, personas }: FinetunePorts,
): Choice[] {
  const focused = interaction.options.getFocused(true);
  if (focused.name === 'persona') {
    return personas()
      .list()
      .map((p) => ({ name: `${p.displayName} (${fineTuner.activeModel(p.id) ?? p.model})`, value: p.id }));
  }
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
}

/**
 * `/finetune run|rollback|status`: the strategic loop on demand — fine-tune a persona now (the
 * architect's), flip it back to an earlier version (the architect's), see each persona's model
 * and the current or last job.
 */
const finetune: Command<FinetunePorts> = {
  data: new SlashCommandBuilder()
    .setName('finetune')
    .setDescription('Fine-tune a persona on its golden set, roll it back, or see the models in force')
    .setContexts(InteractionContextType.Guild)
    .addSubcommand((sub) =>
      sub
        .setName('run')
        .setDescription('Fine-tune a persona on its golden set now (architect)')
        .addStringOption(personaOption),
    )
    .addSubcommand((sub) =>
      sub
        .setName('rollback')
        .setDescription('Flip a persona back to an earlier model version, at once (architect)')
        .addStringOption(personaOption)
        .addIntegerOption(versionOption),
    )
    .addSubcommand((sub) =>
      sub
        .setName('status')
        .setDescription('The current or last fine-tune, and each persona’s model in force'),
    )
    .toJSON(),
  defer: 'public',
  architectOnly: (interaction) => ARCHITECT_ONLY.has(interaction.options.getSubcommand()),
  // A fine-tune trains and then runs the exam on the models: it counts as a run of the architect's.
  limited: (interaction) => interaction.options.getSubcommand() === 'run',
  autocomplete: finetuneChoices,
  async execute(interaction, ports) {
    const sub = interaction.options.getSubcommand();
    if (sub === 'run') await startFinetune(interaction, ports);
    else if (sub === 'rollback') await rollbackFinetune(interaction, ports);
    else await finetuneStatus(interaction, ports);
  },
};

export default finetune;
