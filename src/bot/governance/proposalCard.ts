import {
  ActionRowBuilder,
  AttachmentBuilder,
  ButtonBuilder,
  ButtonStyle,
  EmbedBuilder,
  TimestampStyles,
  time,
  userMention,
} from 'discord.js';
import type { Decision } from '../../services/governance/amendments.ts';
import type { HistoryEntry, Proposal } from '../../services/governance/proposalStore.ts';
import { plural, truncate } from '../../shared/text.ts';
import { NO_MENTIONS } from '../posting/mentions.ts';
import { splitMessage } from '../posting/splitMessage.ts';

/** How a proposal looks in Discord: its card (embed, diff, buttons) and its history. */

/** The custom-id prefix of the proposal buttons: `codex:<action>:<proposal id>`. */
export const CODEX_BUTTONS = 'codex';
export type CodexAction = 'history' | 'approve' | 'reject';

const customId = (action: CodexAction, id: string) => `${CODEX_BUTTONS}:${action}:${id}`;

const at = (ms: number) => time(new Date(ms), TimestampStyles.ShortDateTime);
const ago = (ms: number) => time(new Date(ms), TimestampStyles.RelativeTime);

/** Who asked: persistent dissonance, or a member. */
export const askedBy = (proposal: Proposal) =>
  proposal.requestedBy === 'system' ? 'persistent dissonance' : userMention(proposal.requestedBy);

const COLORS: Record<Proposal['state'], number> = {
  drafting: 0x95a5a6,
  pending: 0xf1c40f,
  approved: 0x2ecc71,
  rejected: 0xe74c3c,
  stale: 0x7f8c8d,
  abandoned: 0x7f8c8d,
};

function statusLine(proposal: Proposal): string {
  switch (proposal.state) {
    case 'approved':
      return `✅ Approved by ${userMention(proposal.decidedBy ?? '')} ${at(proposal.decidedAt ?? 0)}: the codex is now version ${proposal.newVersion}.`;
    case 'rejected':
      return `❌ Rejected by ${userMention(proposal.decidedBy ?? '')} ${at(proposal.decidedAt ?? 0)}.`;
    case 'stale':
      return `⌛ Stale: ${proposal.reason ?? 'the codex changed'}. Nothing was applied.`;
    case 'abandoned':
      return `🛑 Abandoned: ${proposal.reason ?? ''}`;
    default:
      return proposal.openedBy.length
        ? `⏳ Awaiting the architect. History opened by ${proposal.openedBy.map(userMention).join(', ')}.`
        : '⏳ Awaiting the architect. Open the history to enable Approve.';
  }
}

/** The proposal as a message: embed, diff attached, and (while pending) its three buttons. */
export function proposalMessage(proposal: Proposal, options: { withDiff?: boolean } = {}) {
  const evidence = proposal.history.filter((h) => h.kind === 'evidence').length;
  const embed = new EmbedBuilder()
    .setColor(COLORS[proposal.state])
    .setTitle(
      truncate(
        `📜 Codex ${proposal.kind === 'rollback' ? 'rollback' : 'amendment'} ${proposal.id}: ${proposal.title}`,
        256,
      ),
    )
    .setDescription(truncate(statusLine(proposal), 4096))
    .addFields(
      {
        name: 'Principles changed',
        value: truncate(proposal.principles.map((p) => `• ${p}`).join('\n') || '—', 1024),
      },
      { name: 'Rationale', value: truncate(proposal.rationale || '—', 1024) },
      { name: 'Consequences', value: truncate(proposal.consequences || '—', 1024) },
      {
        name: 'Evidence',
        value:
          proposal.kind === 'rollback'
            ? `a rollback to version ${proposal.rollbackTo}`
            : plural(evidence, 'dissonant dialogue'),
        inline: true,
      },
      {
        name: 'Codex version',
        value: `${proposal.baseVersion} → ${proposal.newVersion ?? proposal.baseVersion + 1}`,
        inline: true,
      },
      { name: 'Asked by', value: askedBy(proposal), inline: true },
    )
    .setFooter({ text: `The system proposes; only the architect ratifies. Diff: codex-${proposal.id}.diff` })
    .setTimestamp(proposal.createdAt);
  const components =
    proposal.state === 'pending'
      ? [
          new ActionRowBuilder<ButtonBuilder>().addComponents(
            new ButtonBuilder()
              .setCustomId(customId('history', proposal.id))
              .setLabel('Open history')
              .setEmoji('📜')
              .setStyle(ButtonStyle.Primary),
            new ButtonBuilder()
              .setCustomId(customId('approve', proposal.id))
              .setLabel('Approve')
              .setStyle(ButtonStyle.Success)
              .setDisabled(proposal.openedBy.length === 0),
            new ButtonBuilder()
              .setCustomId(customId('reject', proposal.id))
              .setLabel('Reject')
              .setStyle(ButtonStyle.Danger),
          ),
        ]
      : [];
  // Only the first post carries files: an edit that names `files` replaces the attachments.
  const diff = new AttachmentBuilder(Buffer.from(proposal.diff || '(no changes)\n', 'utf8'), {
    name: `codex-${proposal.id}.diff`,
  });
  return {
    embeds: [embed],
    components,
    ...(options.withDiff ? { files: [diff] } : {}),
    allowedMentions: NO_MENTIONS,
  };
}

/** What the history says in the place of a dialogue's words it does not show. */
export const WITHHELD_EVIDENCE =
  '-# Held in a channel that not everyone here can read: its words are not shown.';
export const FORGOTTEN_EVIDENCE = '-# This dialogue was forgotten: its words are gone.';

/**
 * The legislative history as readable messages: evidence, deliberation, the diff. Evidence is
 * shown in words only where `shown` says so (by default: where its readers could read it when it
 * was drafted); the rest by its date and dissonance alone.
 */
export function historyMessages(
  proposal: Proposal,
  options: { shown?: (entry: HistoryEntry) => boolean } = {},
): string[] {
  const shown = options.shown ?? ((entry: HistoryEntry) => entry.shown === true && !entry.forgotten);
  const parts = [
    `# Legislative history of proposal ${proposal.id}\n**${proposal.title}** — asked by ${askedBy(proposal)} ${at(
      proposal.createdAt,
    )}. Read it through; then Approve is yours to press.`,
  ];
  const evidence = proposal.history.filter((h) => h.kind === 'evidence');
  if (evidence.length) parts.push(`## The evidence: ${plural(evidence.length, 'dissonant dialogue')}`);
  for (const entry of evidence) {
    const words = shown(entry) ? entry.text : entry.forgotten ? FORGOTTEN_EVIDENCE : WITHHELD_EVIDENCE;
    parts.push(`**${entry.title}**\n${words}`);
  }
  const deliberation = proposal.history.filter((h) => h.kind !== 'evidence');
  if (deliberation.length) parts.push('## The deliberation');
  for (const entry of deliberation) parts.push(`**${entry.title}**\n${entry.text}`);
  parts.push(`## The change\n\`\`\`diff\n${proposal.diff.trim()}\n\`\`\``);
  return parts.flatMap((part) => splitMessage(part));
}

/** A governance refusal in words: the service's reason, with who decided and when where known. */
export function refusalText(decision: Decision & { ok: false }): string {
  const proposal = decision.proposal;
  if (decision.code === 'ALREADY_DECIDED' && proposal) {
    const by = proposal.decidedBy ? ` by ${userMention(proposal.decidedBy)}` : '';
    const when = proposal.decidedAt ? ` ${ago(proposal.decidedAt)}` : '';
    const why = proposal.reason ? `: ${proposal.reason}` : '';
    return `Proposal ${proposal.id} is already ${proposal.state}${by}${when}${why}.`;
  }
  return decision.reason;
}
