import { channelMention, EmbedBuilder, InteractionContextType, SlashCommandBuilder } from 'discord.js';
import type { ArchitectGate } from '../src/bot/access/architects.ts';
import type { ChannelAccess } from '../src/bot/access/channelAccess.ts';
import type { Command, CommandCall } from '../src/bot/interactions/command.ts';
import type { Dialogue } from '../src/graph/dialogue.ts';
import type { Curation, ForgetReport } from '../src/services/curation/curation.ts';
import type { ForgetTracesReport, Forgetting } from '../src/services/forgetting/forgetting.ts';
import type { Memory } from '../src/services/memory/memory.ts';
import { plural, truncate } from '../src/shared/text.ts';

/** A thread id from an id, a `<#id>` mention or a message/channel link. */
export function threadIdFrom(input: string): string | undefined {
  const trimmed = input.trim();
  const link = /channels\/(?:\d+|@me)\/(\d+)(?:\/\d+)?\/?$/.exec(trimmed);
  if (link?.[1]) return link[1];
  return /^<#(\d+)>$/.exec(trimmed)?.[1] ?? (/^\d{15,21}$/.test(trimmed) ? trimmed : undefined);
}

/** What the golden sets lost, for people: `3 golden samples (ALFRED 2, BRICK 1)`. */
export function goldenRemoved(report: ForgetReport): string {
  const byPersona = Object.entries(report.removed)
    .filter(([, r]) => r.samples > 0)
    .map(([persona, r]) => `${persona} ${r.samples}`);
  const count =
    report.total === 0
      ? 'no golden samples'
      : `${plural(report.total, 'golden sample')} (${byPersona.join(', ')})`;
  return report.pendingOn
    ? `${count}; its golden samples are marked forgotten and go as soon as the curation run of process ${report.pendingOn} ends`
    : count;
}

/** `a`, `a and b`, `a, b and c`. */
const listed = (items: readonly string[]) =>
  items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;

/**
 * What forgetting did beyond the records, vectors, state and golden sets, for people: the dialogues
 * that recalled it, the proposals, the fine-tunes trained on it and a model in force that learned
 * from it (with the architect's way back), the logs, and what could not be done. Empty when nothing.
 */
export function tracesRemoved(report: ForgetTracesReport): string {
  const said: string[] = [];
  const recalled = Math.max(report.recalling, report.checkpoints);
  if (recalled > 0) said.push(`Its quotes are cut from ${plural(recalled, 'dialogue')} that recalled it.`);
  if (report.proposals.length > 0)
    said.push(
      `It is gone from the evidence of ${plural(report.proposals.length, 'proposal')} (${listed(report.proposals)}).`,
    );
  const { tainted, examPrompts, inForce } = report.finetune;
  if (tainted.length > 0) {
    const jobs = tainted.map(
      (job) =>
        `${job.id} (${job.persona}${job.state === 'awaiting_architect' ? ', waiting for an architect' : ''})`,
    );
    said.push(
      tainted.length === 1
        ? `Fine-tune ${jobs[0]} was trained on it: its dataset no longer holds it, and the job is marked tainted.`
        : `Fine-tunes ${listed(jobs)} were trained on it: their datasets no longer hold it, and the jobs are marked tainted.`,
    );
  } else if (examPrompts > 0) said.push(`${plural(examPrompts, 'prompt')} left the fine-tune exams.`);
  for (const model of inForce)
    said.push(
      `⚠️ \`${model.model}\`, ${model.persona}'s model in force, learned from it: an architect can roll it back with \`/finetune rollback persona:${model.persona} version:${model.rollbackTo}\`.`,
    );
  if (report.logLines > 0) said.push(`${plural(report.logLines, 'line')} left the log files.`);
  if (report.failed.length > 0)
    said.push(`❗ Not done: ${listed(report.failed)}; its words may remain there (the log says why).`);
  return said.join(' ');
}

/** What `/memory` uses: recall and forgetting, the conversations, the golden sets, the architect gate. */
export interface MemoryCommandPorts {
  memory: Pick<Memory, 'recall' | 'records' | 'forget'>;
  curation: Pick<Curation, 'forget'>;
  dialogue: Pick<Dialogue, 'forget'>;
  /** Everywhere else its words are kept: the dialogues that recalled it, datasets, evidence, logs. */
  forgetting: Pick<Forgetting, 'traces'>;
  architects: Pick<ArchitectGate, 'check'>;
  access: Pick<ChannelAccess, 'reader'>;
}

/** `/memory search` and `/memory forget`: what the personas remember, and forgetting it. */
const memory: Command<MemoryCommandPorts, CommandCall> = {
  data: new SlashCommandBuilder()
    .setName('memory')
    .setDescription('Search or forget what the personas remember')
    .setContexts(InteractionContextType.Guild)
    .addSubcommand((sub) =>
      sub
        .setName('search')
        .setDescription('The past dialogues closest to a query')
        .addStringOption((o) =>
          o.setName('query').setDescription('What to look for').setRequired(true).setMaxLength(500),
        ),
    )
    .addSubcommand((sub) =>
      sub
        .setName('forget')
        .setDescription(
          'Forget a dialogue thread: its words everywhere they are kept (records, vectors, state, datasets)',
        )
        .addStringOption((o) => o.setName('thread').setDescription('Thread id or link').setRequired(true)),
    )
    .toJSON(),
  defer: 'ephemeral',
  // A search embeds the query: it counts against the member's runs, as a dialogue does.
  limited: (interaction) => interaction.options.getSubcommand() === 'search',
  async execute(interaction, { memory: store, curation, dialogue, forgetting, architects, access }) {
    if (interaction.options.getSubcommand() === 'search') {
      const query = interaction.options.getString('query', true);
      // Only dialogues from places the asker can read (a private thread: its members): the answer
      // quotes them word for word.
      const readable = access.reader(interaction);
      const found = await store.recall(query, { k: 5, floor: 0, guildId: interaction.guildId, readable });
      if (found.length === 0) {
        await interaction.editReply({ content: 'I remember nothing close to that yet.' });
        return;
      }
      const embed = new EmbedBuilder()
        .setTitle(`Closest past dialogues to “${truncate(query, 200)}”`)
        .setDescription(
          found
            .map((r) => {
              const date = new Date(r.at).toISOString().slice(0, 10);
              const link = r.guildId
                ? `https://discord.com/channels/${r.guildId}/${r.conversationId}`
                : r.conversationId;
              return `**${(r.similarity * 100).toFixed(0)}%** · ${date} · ${link}\n${truncate(r.task, 200)}`;
            })
            .join('\n\n')
            .slice(0, 4096),
        );
      await interaction.editReply({ embeds: [embed] });
      return;
    }

    const input = interaction.options.getString('thread', true);
    const threadId = threadIdFrom(input);
    if (!threadId) {
      await interaction.editReply({ content: `“${truncate(input, 100)}” is not a thread id or link.` });
      return;
    }
    const records = (await store.records(threadId)).filter(
      (r) => !r.guildId || r.guildId === interaction.guildId,
    );
    if (records.length === 0) {
      await interaction.editReply({ content: `I remember no dialogue from ${channelMention(threadId)}.` });
      return;
    }
    if (records.some((r) => r.userId !== interaction.user.id)) {
      const verdict = await architects.check(interaction);
      if (!verdict.ok) {
        await interaction.editReply({
          content: `That thread holds other people's dialogues. You can forget your own; ${verdict.reason.replace(/^Only/, 'only')}`,
        });
        return;
      }
    }
    // The golden samples first: their ids come from the records, which go next.
    const golden = await curation.forget(records.map((r) => r.id));
    const removed = await store.forget(threadId);
    await dialogue.forget(threadId);
    // Last: what quoted or copied it is found by the records' words, read before they went.
    const traces = tracesRemoved(await forgetting.traces(threadId, records));
    const content = `Forgotten: ${plural(removed.length, 'dialogue')} from ${channelMention(threadId)} — the records, their vectors, the conversation state and ${goldenRemoved(golden)}.${traces ? ` ${traces}` : ''}`;
    await interaction.editReply({ content: truncate(content, 2000) });
  },
};

export default memory;
