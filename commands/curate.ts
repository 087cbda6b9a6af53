import {
  AttachmentBuilder,
  channelMention,
  EmbedBuilder,
  InteractionContextType,
  SlashCommandBuilder,
  TimestampStyles,
  time,
  userMention,
} from 'discord.js';
import type { Command, PortsOf } from '../src/bot/interactions/command.ts';
import { finishSlowReply, NO_MENTIONS, personaOption } from '../src/bot/kit.ts';
import type {
  CurationReport,
  ForgetReport,
  GoldenSetView,
  PeopleAgreement,
  PersonaTally,
  RunVerdict,
} from '../src/services/curation/curation.ts';
import type { GoldenSample } from '../src/services/curation/sample.ts';
import { formatBytes, plural, truncate } from '../src/shared/text.ts';

/** Discord's smallest upload limit: a bigger set is attached as its newest lines. */
const ATTACHMENT_BYTES = 8 * 1024 * 1024;
const BAR = 12;

/** Where a dialogue happened: its thread, or its conversation id (a terminal chat). */
const place = (conversationId: string) =>
  /^\d{15,21}$/.test(conversationId) ? channelMention(conversationId) : `\`${conversationId}\``;

function tallyLine(tally: PersonaTally): string {
  const parts = [`judged ${tally.judged}`, `kept ${tally.kept}`, `rejected ${tally.rejected}`];
  if (tally.invalid) parts.push(`unusable verdicts ${tally.invalid}`);
  if (tally.incomplete) parts.push(`not recorded whole ${tally.incomplete}`);
  if (tally.withheld) parts.push(`kept but 👎 by a member ${tally.withheld}`);
  const added = `**+${plural(tally.added, 'sample')}**${tally.duplicates ? ` (${tally.duplicates} already in the set)` : ''}${tally.capped ? ` (${tally.capped} over a member’s daily cap)` : ''}`;
  return `${parts.join(' · ')} → ${added}`;
}

function verdictLine(label: string, verdict: RunVerdict): string {
  return `${label}: **${verdict.total}/5** ${verdict.persona} in ${place(verdict.conversationId)} — ${truncate(verdict.reason, 300)}`;
}

function runEmbed(report: CurationReport, threshold: string): EmbedBuilder {
  const embed = new EmbedBuilder().setTitle('🏅 Curation run');
  const lines = [
    report.dialogues === 0
      ? 'Nothing new to curate: every finished dialogue has been judged.'
      : `Judged ${plural(report.dialogues, 'dialogue')}; a persona’s turns are kept at ${threshold} or more.`,
  ];
  if (report.excluded)
    lines.push(
      `${plural(report.excluded, 'dialogue')} not judged: outside \`CURATION_SCOPE\`, or holding what was forgotten.`,
    );
  if (report.more) lines.push('More dialogues are waiting: the next run (or `/curate run`) takes them.');
  if (report.stopped) lines.push(`⚠️ Stopped early: ${report.stopped}. The rest waits for the next run.`);
  if (report.best) lines.push(verdictLine('Best', report.best));
  if (report.worst && report.worst !== report.best) lines.push(verdictLine('Worst', report.worst));
  embed.setDescription(lines.join('\n').slice(0, 4096));
  for (const [persona, tally] of Object.entries(report.personas).slice(0, 25)) {
    embed.addFields({ name: persona, value: tallyLine(tally).slice(0, 1024) });
  }
  return embed;
}

function histogram(view: GoldenSetView): string {
  const judged = view.histogram.filter((h) => h.status === 'judged');
  const most = Math.max(1, ...judged.map((h) => h.count));
  const lines = [5, 4, 3, 2, 1, 0].map((total) => {
    const count = judged.find((h) => h.total === total)?.count ?? 0;
    return `\`${total}\` ${'█'.repeat(Math.round((count / most) * BAR)) || '·'} ${count}`;
  });
  const other = (status: string) =>
    view.histogram.filter((h) => h.status === status).reduce((n, h) => n + h.count, 0);
  const extra = [
    other('invalid') ? `${other('invalid')} unusable verdicts` : '',
    other('incomplete') ? `${other('incomplete')} not recorded whole` : '',
  ].filter(Boolean);
  return [...lines, ...(extra.length ? [extra.join(' · ')] : [])].join('\n');
}

function sampleLine(sample: GoldenSample): string {
  const { meta } = sample;
  const said = sample.messages.at(-1)?.content ?? '';
  return `**${meta.total}/5** ${meta.kind} in ${place(meta.conversation_id)} · ${time(new Date(meta.curated_at), TimestampStyles.ShortDate)} — ${truncate(meta.reason, 120)}\n> ${truncate(said.replace(/\s+/g, ' '), 160)}`;
}

/** The emoji members vote with: the codex's, or 👍 and 👎 by default. */
type VoteEmoji = { up: string; down: string };

/** How often the judge and people's reactions agree: the share, Cohen's kappa and the four counts. */
function agreementText(label: string, people: PeopleAgreement, emoji: VoteEmoji): string {
  const { agreement: a } = people;
  const waiting = people.unjudged ? ` (${plural(people.unjudged, 'more reacted part')} not judged yet)` : '';
  if (a.compared === 0) {
    return people.reacted === 0 ? `${label}: no reactions yet` : `${label}: nothing to compare yet${waiting}`;
  }
  const kappa = a.kappa === null ? 'κ undefined' : `κ ${a.kappa.toFixed(2)}`;
  const { table: t } = a;
  return (
    `${label}: **agree on ${a.agreed} of ${a.compared}** reacted parts (${Math.round((a.share ?? 0) * 100)}%), ${kappa}${waiting}\n` +
    `-# kept & ${emoji.up} ${t.keptGood} · refused & ${emoji.down} ${t.refusedBad} · kept & ${emoji.down} ${t.keptBad} · refused & ${emoji.up} ${t.refusedGood}`
  );
}

/** The judge against people, for one persona and for all, as an embed field's value. */
async function agreementField(
  persona: string,
  agreement: (persona?: string) => Promise<PeopleAgreement>,
  emoji: VoteEmoji,
) {
  return {
    name: `The judge and people’s ${emoji.up} / ${emoji.down}`,
    value: [
      agreementText(persona, await agreement(persona), emoji),
      agreementText('All personas', await agreement(), emoji),
    ]
      .join('\n')
      .slice(0, 1024),
  };
}

function showEmbed(view: GoldenSetView): EmbedBuilder {
  const { manifest } = view;
  const anchor = manifest.anchor.frozen
    ? `anchor set: ${manifest.anchor.samples} samples, frozen`
    : `anchor set: ${manifest.anchor.samples} of ${manifest.anchor.size}, filling`;
  const newest = manifest.newest
    ? ` · newest ${time(new Date(manifest.newest.curated_at), TimestampStyles.RelativeTime)}`
    : '';
  return new EmbedBuilder()
    .setTitle(`🏅 Golden dataset: ${view.persona}`)
    .setDescription(
      `**${plural(manifest.samples, 'sample')}** · ${formatBytes(manifest.bytes)} · sha256 \`${manifest.sha256.slice(0, 12)}\`\n${anchor}${newest}` +
        (manifest.repaired_lines
          ? `\n${plural(manifest.repaired_lines, 'torn line')} cut after a crash`
          : ''),
    )
    .addFields(
      { name: 'Verdicts (per dialogue, by total score)', value: histogram(view).slice(0, 1024) },
      {
        name: 'Newest samples',
        value: view.newest.length
          ? view.newest.slice().reverse().map(sampleLine).join('\n').slice(0, 1024)
          : '—',
      },
    );
}

/** What `/curate forget member:` says it removed. */
function memberForgotten(userId: string, report: ForgetReport): string {
  const byPersona = Object.entries(report.removed)
    .filter(([, r]) => r.samples > 0)
    .map(([persona, r]) => `${persona} ${r.samples}`);
  const removed = report.total
    ? `Removed ${plural(report.total, 'golden sample')} holding ${userMention(userId)}’s words (${byPersona.join(', ')}).`
    : `No golden sample holds ${userMention(userId)}’s words.`;
  const pending = report.pendingOn
    ? ` Another process (pid ${report.pendingOn}) is curating: their samples go as soon as its run ends.`
    : '';
  return `${removed}${pending} Their dialogues until now will not be curated again; later ones will, within \`CURATION_MEMBER_DAILY\`.`;
}

/** `/curate run|show|forget`: the golden datasets ALFRED curates for fine-tuning. Architects only: they hold every server’s dialogues. */
const curate: Command<PortsOf<'curation' | 'curationJob' | 'config' | 'personas' | 'codex'>> = {
  data: new SlashCommandBuilder()
    .setName('curate')
    .setDescription('The golden datasets the personas are fine-tuned on (architect)')
    .setContexts(InteractionContextType.Guild)
    .addSubcommand((sub) =>
      sub.setName('run').setDescription('Judge the dialogues finished since the last run, now (architect)'),
    )
    .addSubcommand((sub) =>
      sub
        .setName('show')
        .setDescription(
          'A persona’s golden set: scores, newest samples, the file, judge vs reactions (architect)',
        )
        .addStringOption(personaOption),
    )
    .addSubcommand((sub) =>
      sub
        .setName('forget')
        .setDescription('Remove every golden sample holding a member’s words (architect)')
        .addUserOption((option) =>
          option.setName('member').setDescription('Whose samples to remove').setRequired(true),
        ),
    )
    .toJSON(),
  defer: 'ephemeral',
  architectOnly: true,
  // A run judges dialogues with the model: it counts as a run of the architect's.
  limited: (interaction) => interaction.options.getSubcommand() === 'run',
  async autocomplete(_interaction, { curation, personas }) {
    const sizes = new Map((await curation.sizes()).map((s) => [s.persona, s.samples]));
    return personas()
      .list()
      .map((p) => ({ name: `${p.displayName} (${plural(sizes.get(p.id) ?? 0, 'sample')})`, value: p.id }));
  },
  async execute(interaction, { curation, curationJob, config, codex }) {
    if (interaction.options.getSubcommand() === 'run') {
      const { run, report } = await curationJob.runNow();
      if (!report) {
        await finishSlowReply(interaction, { content: `Not run: ${run.message}.` });
        return;
      }
      if (report.busy) {
        await finishSlowReply(interaction, {
          content: `Not run: another process (pid ${report.busy}, \`npm run curate\`?) is curating the same data. Try again when it is done.`,
        });
        return;
      }
      await finishSlowReply(interaction, { embeds: [runEmbed(report, String(config.curationThreshold))] });
      return;
    }
    if (interaction.options.getSubcommand() === 'forget') {
      const member = interaction.options.getUser('member', true);
      const report = await curation.forgetMember(member.id);
      await interaction.editReply({
        content: memberForgotten(member.id, report),
        allowedMentions: NO_MENTIONS,
      });
      return;
    }
    const persona = interaction.options.getString('persona', true).trim().toUpperCase();
    const view = await curation.show(persona, { newest: 3, fileBytes: ATTACHMENT_BYTES });
    // The codex's emoji, or its default.
    const emoji = codex().data.curation.reactions ?? { up: '👍', down: '👎' };
    const people = await agreementField(truncate(persona, 32), (p) => curation.agreement(p), emoji);
    if (!view) {
      await interaction.editReply({
        content: `${truncate(persona, 32)} has no golden samples yet: the curation job keeps a persona’s turns once the judge scores them ${config.curationThreshold} or more.\n\n**${people.name}**\n${people.value}`,
      });
      return;
    }
    const name = view.file.whole ? view.file.name : view.file.name.replace(/\.jsonl$/, '-newest.jsonl');
    await interaction.editReply({
      ...(view.file.whole
        ? {}
        : {
            content: `The set is ${formatBytes(view.manifest.bytes)}: attached are its newest samples that fit. The whole file is on the bot’s host.`,
          }),
      embeds: [showEmbed(view).addFields(people)],
      files: view.file.data.length ? [new AttachmentBuilder(view.file.data, { name })] : [],
    });
  },
};

export default curate;
