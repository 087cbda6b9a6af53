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
import { finishSlowReply, NO_MENTIONS, refusalText } from '../src/bot/kit.ts';
import type { Decision } from '../src/services/governance/amendments.ts';

const ARCHITECT_ONLY = new Set(['rollback', 'propose']);

/** `/codex show|history|rollback|propose`: the constitution, its versions, and the gate to change it. */
const codex: Command<PortsOf<'amendments' | 'codex' | 'config' | 'governance' | 'logger'>> = {
  data: new SlashCommandBuilder()
    .setName('codex')
    .setDescription('The personas’ constitution: read it, its history, or propose a change')
    .setContexts(InteractionContextType.Guild)
    .addSubcommand((sub) => sub.setName('show').setDescription('The current codex, attached'))
    .addSubcommand((sub) => sub.setName('history').setDescription('Every codex version and who approved it'))
    .addSubcommand((sub) =>
      sub
        .setName('rollback')
        .setDescription('Propose restoring an earlier version (architect; through the same approval)')
        .addIntegerOption((o) =>
          o
            .setName('version')
            .setDescription('The version to restore')
            .setRequired(true)
            .setMinValue(1)
            .setAutocomplete(true),
        ),
    )
    .addSubcommand((sub) =>
      sub
        .setName('propose')
        .setDescription(
          'Have ALFRED draft an amendment now, from the most dissonant recent dialogues (architect)',
        )
        .addStringOption((o) =>
          o.setName('note').setDescription('What you want looked at').setMaxLength(1000),
        ),
    )
    .toJSON(),
  defer: 'ephemeral',
  architectOnly: (interaction) => ARCHITECT_ONLY.has(interaction.options.getSubcommand()),
  // ALFRED drafts and BRICK and ROBIN review: a proposal counts as a run of the architect's.
  limited: (interaction) => interaction.options.getSubcommand() === 'propose',
  async autocomplete(_interaction, { amendments, codex: current }) {
    const now = current().data.version;
    return (await amendments.versions())
      .filter((v) => v.version !== now)
      .reverse()
      .map((v) => ({
        name: `v${v.version}${v.proposalId ? ` · ${v.proposalId}` : ' · as first found'}`,
        value: v.version,
      }));
  },
  async execute(interaction, { amendments, codex: current, config, governance, logger }) {
    const sub = interaction.options.getSubcommand();
    if (sub === 'show') {
      const { data, hash, source } = current();
      const paused = await amendments.pausedReason();
      const embed = new EmbedBuilder()
        .setTitle(`📜 ${data.name} codex, version ${data.version}`)
        .setDescription(
          `${data.core.principles.length} immutable core principles · personas: ${Object.keys(data.personas).join(', ')}\n` +
            `sha256 \`${hash.slice(0, 12)}\`${paused ? `\n⏳ ${paused}` : ''}`,
        );
      await interaction.editReply({
        embeds: [embed],
        files: [new AttachmentBuilder(Buffer.from(source, 'utf8'), { name: `codex-v${data.version}.toml` })],
      });
      return;
    }
    if (sub === 'history') {
      // Self-healing: a pending proposal whose card was deleted is posted again.
      await governance
        .repostPending()
        .catch((error: unknown) => logger.warn({ err: error }, 'could not repost the pending proposal'));
      const proposals = new Map((await amendments.list()).map((p) => [p.id, p]));
      const lines = (await amendments.versions())
        .map((v) => {
          const proposal = v.proposalId ? proposals.get(v.proposalId) : undefined;
          const how = proposal
            ? `${proposal.kind === 'rollback' ? 'rollback' : 'amendment'} ${proposal.id} “${proposal.title}”, approved by ${userMention(v.approvedBy ?? '')}`
            : v.approvedBy === 'host'
              ? 'edited on the host'
              : 'the codex as first found';
          return `**v${v.version}** — ${how} ${time(new Date(v.at), TimestampStyles.ShortDateTime)}`;
        })
        .reverse();
      const other = [...proposals.values()]
        .filter((p) => p.state !== 'approved')
        .slice(0, 10)
        .map((p) => `${p.id} · ${p.state} · ${p.title || p.kind}${p.reason ? ` — ${p.reason}` : ''}`);
      const embed = new EmbedBuilder()
        .setTitle('📜 Codex history')
        .setDescription(lines.join('\n').slice(0, 4096) || '—');
      if (other.length) embed.addFields({ name: 'Other proposals', value: other.join('\n').slice(0, 1024) });
      await interaction.editReply({ embeds: [embed], allowedMentions: NO_MENTIONS });
      return;
    }

    let decision: Decision;
    if (sub === 'rollback') {
      decision = await amendments.rollback(
        interaction.options.getInteger('version', true),
        interaction.user.id,
      );
    } else {
      await interaction.editReply({ content: '✍️ ALFRED is drafting an amendment…' });
      decision = await amendments.propose(
        interaction.user.id,
        interaction.options.getString('note') ?? undefined,
        interaction.channelId,
      );
    }
    if (!decision.ok) {
      await finishSlowReply(interaction, { content: refusalText(decision) });
      return;
    }
    let proposal = (await amendments.get(decision.proposal.id)) ?? decision.proposal;
    if (proposal.state === 'abandoned') {
      await finishSlowReply(interaction, { content: `🛑 No proposal: ${proposal.reason}` });
      return;
    }
    // Posted in the governance channel as it became ready; here when there is none. (With several
    // shard processes, the one holding the governance channel posts it: it may not be there yet.)
    await governance.post(proposal, interaction.channelId);
    proposal = (await amendments.get(proposal.id)) ?? proposal;
    const where = proposal.channelId ?? config.governanceChannelId ?? interaction.channelId;
    await finishSlowReply(interaction, {
      content: `📜 Proposal ${proposal.id} awaits a decision in ${channelMention(where)}: open its history, then approve or reject it there.`,
    });
  },
};

export default codex;
