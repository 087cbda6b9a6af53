import {
  ActionRowBuilder,
  AttachmentBuilder,
  ButtonBuilder,
  type ButtonInteraction,
  ButtonStyle,
  type Client,
  DiscordAPIError,
  EmbedBuilder,
  MessageFlags,
  RESTJSONErrorCodes,
  type SendableChannels,
  ThreadAutoArchiveDuration,
  type ThreadChannel,
} from 'discord.js';
import type { Decision } from '../services/governance/amendments.ts';
import type { Proposal } from '../services/governance/proposalStore.ts';
import type { Logger } from '../services/logger.ts';
import { truncate } from '../services/text.ts';
import type { BotContext } from './botContext.ts';
import { checkArchitect } from './permissions.ts';
import { NO_MENTIONS } from './personaPoster.ts';
import { splitMessage } from './splitMessage.ts';

/**
 * Codex amendments in Discord: the proposal card (embed, diff, buttons) in the governance
 * channel, the history thread, and the buttons' handlers. Every press is checked on the server
 * against the stored proposal: the message only carries its id.
 */

export const BUTTON_PREFIX = 'codex';
type Action = 'history' | 'approve' | 'reject';

const customId = (action: Action, id: string) => `${BUTTON_PREFIX}:${action}:${id}`;

const when = (ms: number) => `<t:${Math.floor(ms / 1000)}:f>`;

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
      return `✅ Approved by <@${proposal.decidedBy}> ${when(proposal.decidedAt ?? 0)}: the codex is now version ${proposal.newVersion}.`;
    case 'rejected':
      return `❌ Rejected by <@${proposal.decidedBy}> ${when(proposal.decidedAt ?? 0)}.`;
    case 'stale':
      return `⌛ Stale: ${proposal.reason ?? 'the codex changed'}. Nothing was applied.`;
    case 'abandoned':
      return `🛑 Abandoned: ${proposal.reason ?? ''}`;
    default:
      return proposal.openedBy.length
        ? `⏳ Awaiting the architect. History opened by ${proposal.openedBy.map((id) => `<@${id}>`).join(', ')}.`
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
            : `${evidence} dissonant dialogue${evidence === 1 ? '' : 's'}`,
        inline: true,
      },
      {
        name: 'Codex version',
        value: `${proposal.baseVersion} → ${proposal.newVersion ?? proposal.baseVersion + 1}`,
        inline: true,
      },
      {
        name: 'Asked by',
        value: proposal.requestedBy === 'system' ? 'persistent dissonance' : `<@${proposal.requestedBy}>`,
        inline: true,
      },
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

/** The legislative history as readable messages: evidence, deliberation, the diff. */
export function historyMessages(proposal: Proposal): string[] {
  const parts = [
    `# Legislative history of proposal ${proposal.id}\n**${proposal.title}** — asked by ${
      proposal.requestedBy === 'system' ? 'persistent dissonance' : `<@${proposal.requestedBy}>`
    } ${when(proposal.createdAt)}. Read it through; then Approve is yours to press.`,
  ];
  const evidence = proposal.history.filter((h) => h.kind === 'evidence');
  if (evidence.length)
    parts.push(`## The evidence: ${evidence.length} dissonant dialogue${evidence.length === 1 ? '' : 's'}`);
  for (const entry of evidence) parts.push(`**${entry.title}**\n${entry.text}`);
  const deliberation = proposal.history.filter((h) => h.kind !== 'evidence');
  if (deliberation.length) parts.push('## The deliberation');
  for (const entry of deliberation) parts.push(`**${entry.title}**\n${entry.text}`);
  parts.push(`## The change\n\`\`\`diff\n${proposal.diff.trim()}\n\`\`\``);
  return parts.flatMap((part) => splitMessage(part));
}

const posting = new Map<string, Promise<void>>();

/**
 * Posts a proposal in the governance channel (or `fallbackChannelId` when none is set) and
 * remembers where; a proposal is posted once, however many callers ask at the same time.
 */
export function postProposal(ctx: BotContext, proposal: Proposal, fallbackChannelId?: string): Promise<void> {
  const inFlight = posting.get(proposal.id);
  if (inFlight) return inFlight;
  const work = (async () => {
    if (ctx.runtime.amendments.get(proposal.id)?.messageId) return;
    const channelId = ctx.runtime.config.governanceChannelId ?? fallbackChannelId;
    const log = ctx.logger.child({ module: 'governance' });
    if (!channelId) {
      log.warn(
        { proposal: proposal.id },
        'a proposal awaits the architect but GOVERNANCE_CHANNEL_ID is not set',
      );
      return;
    }
    const channel = await ctx.client.channels.fetch(channelId);
    if (!channel?.isSendable()) {
      throw new Error(`GOVERNANCE_CHANNEL_ID ${channelId} is not a channel the bot can post in`);
    }
    const message = await channel.send(
      proposalMessage(ctx.runtime.amendments.get(proposal.id) ?? proposal, { withDiff: true }),
    );
    ctx.runtime.amendments.placed(proposal.id, { channelId, messageId: message.id });
    log.info({ proposal: proposal.id, messageId: message.id }, 'proposal posted');
  })().finally(() => posting.delete(proposal.id));
  posting.set(proposal.id, work);
  return work;
}

const openingHistory = new Map<string, Promise<ThreadChannel>>();

/**
 * The proposal's history thread, created once however many architects press at the same time:
 * reused (and unarchived) when it exists, its messages posted until they all are.
 */
function historyThread(interaction: ButtonInteraction, ctx: BotContext, id: string): Promise<ThreadChannel> {
  const inFlight = openingHistory.get(id);
  if (inFlight) return inFlight;
  const work = (async () => {
    const { amendments } = ctx.runtime;
    let proposal = amendments.get(id);
    if (!proposal) throw new Error(`no proposal ${id}`);
    let thread: ThreadChannel | undefined;
    if (proposal.threadId) {
      const existing = await interaction.client.channels.fetch(proposal.threadId).catch(() => null);
      if (existing?.isThread()) {
        thread = existing;
        if (thread.archived) await thread.setArchived(false, 'history reopened');
      }
    }
    if (!thread) {
      try {
        thread = await interaction.message.startThread({
          name: truncate(`History of proposal ${proposal.id}: ${proposal.title}`, 100),
          autoArchiveDuration: ThreadAutoArchiveDuration.OneDay,
        });
      } catch (error) {
        // 160004: the message already has a thread (made before the id was stored).
        if (
          !(error instanceof DiscordAPIError) ||
          error.code !== RESTJSONErrorCodes.ThreadAlreadyCreatedForMessage
        ) {
          throw error;
        }
        const existing = (await interaction.message.fetch()).thread;
        if (!existing) throw error;
        thread = existing;
      }
      proposal = amendments.placed(id, { threadId: thread.id });
    }
    if (!proposal.historyPosted) {
      for (const part of historyMessages(proposal))
        await thread.send({ content: part, allowedMentions: NO_MENTIONS });
      amendments.placed(id, { historyPosted: true });
    }
    return thread;
  })().finally(() => openingHistory.delete(id));
  openingHistory.set(id, work);
  return work;
}

const ACTIONS = new Set<Action>(['history', 'approve', 'reject']);

/** Handles a press of a proposal's buttons. */
export async function onGovernanceButton(interaction: ButtonInteraction, ctx: BotContext): Promise<void> {
  const [, action, id = ''] = interaction.customId.split(':') as [string, Action, string];
  const log = ctx.logger.child({ module: 'governance' });
  const privately = (content: string) =>
    interaction.deferred || interaction.replied
      ? interaction.followUp({ content, flags: MessageFlags.Ephemeral, allowedMentions: NO_MENTIONS })
      : interaction.reply({ content, flags: MessageFlags.Ephemeral, allowedMentions: NO_MENTIONS });
  if (!ACTIONS.has(action)) {
    await privately('I do not know that button.');
    return;
  }
  const verdict = checkArchitect(interaction, ctx.architects());
  if (!verdict.ok) {
    log.info(
      { proposal: id, action, userId: interaction.user.id },
      'governance button refused: not an architect',
    );
    await privately(`${verdict.reason} The proposal is unchanged.`);
    return;
  }
  const { amendments } = ctx.runtime;
  const refreshCard = async (proposal: Proposal) => {
    await interaction.message
      .edit(proposalMessage(proposal))
      .catch((error: unknown) =>
        log.warn({ err: error, proposal: proposal.id }, 'could not update the proposal message'),
      );
  };

  if (action === 'history') {
    await interaction.deferReply({ flags: MessageFlags.Ephemeral });
    const pending = amendments.inspect(id);
    if (!pending.ok) {
      if (pending.proposal) await refreshCard(pending.proposal);
      await interaction.editReply({ content: pending.reason, allowedMentions: NO_MENTIONS });
      return;
    }
    const thread = await historyThread(interaction, ctx, id);
    // Recorded only once the history is there to read.
    const opened = amendments.openHistory(id, interaction.user.id);
    if (!opened.ok) {
      await interaction.editReply({ content: opened.reason, allowedMentions: NO_MENTIONS });
      return;
    }
    await refreshCard(opened.proposal);
    log.info({ proposal: id, userId: interaction.user.id, threadId: thread.id }, 'history opened');
    await interaction.editReply({
      content: `📜 The history is in <#${thread.id}>. Once you have read it, Approve is yours to press.`,
      allowedMentions: NO_MENTIONS,
    });
    return;
  }

  await interaction.deferUpdate();
  const decision: Decision =
    action === 'approve'
      ? await amendments.approve(id, interaction.user.id)
      : amendments.reject(id, interaction.user.id);
  if (decision.proposal) await interaction.editReply(proposalMessage(decision.proposal));
  if (!decision.ok) {
    await privately(decision.reason);
    return;
  }
  const proposal = decision.proposal;
  log.info(
    { proposal: id, action, userId: interaction.user.id, version: proposal.newVersion },
    'proposal decided',
  );
  await privately(
    proposal.state === 'approved'
      ? `✅ Ratified: the codex is now version ${proposal.newVersion}; the personas use it from the next turn. Autonomy resumes.`
      : '❌ Rejected. Autonomy resumes.',
  );
}

/** Posts proposals and notices as the loop produces them; returns a function that stops it. */
export function wireGovernance(ctx: BotContext, client: Client, logger: Logger): () => void {
  const log = logger.child({ module: 'governance' });
  const post = (proposal: Proposal) =>
    postProposal(ctx, proposal).catch((error: unknown) =>
      log.error({ err: error, proposal: proposal.id }, 'could not post a proposal'),
    );
  const notice = async (content: string) => {
    const channelId = ctx.runtime.config.governanceChannelId;
    if (!channelId) return;
    const channel = (await client.channels.fetch(channelId).catch(() => null)) as SendableChannels | null;
    await channel?.send({ content, allowedMentions: NO_MENTIONS });
  };
  const stops = [
    ctx.runtime.bus.subscribe('proposal_ready', ({ proposal }) => post(proposal)),
    ctx.runtime.bus.subscribe('proposal_abandoned', ({ proposal }) =>
      notice(
        `🛑 A codex amendment (${proposal.id}) was abandoned: ${truncate(proposal.reason ?? '', 1500)}\nAutonomy resumes.`,
      ),
    ),
  ];
  return () => {
    for (const stop of stops) stop();
  };
}

/** After a restart: posts a pending proposal that never reached Discord, or whose card is gone. */
export async function postUnplacedProposals(ctx: BotContext): Promise<void> {
  const active = ctx.runtime.amendments.active();
  if (active?.state !== 'pending') return;
  if (active.messageId && active.channelId) {
    // A card deleted by someone would leave the proposal undecidable: post it again.
    const channel = await ctx.client.channels.fetch(active.channelId).catch(() => null);
    const message =
      channel?.isTextBased() && 'messages' in channel
        ? await channel.messages.fetch(active.messageId).catch(() => null)
        : null;
    if (message) return;
    ctx.logger.warn({ proposal: active.id }, 'the proposal card is gone; posting it again');
    ctx.runtime.amendments.placed(active.id, { messageId: '' });
  }
  await postProposal(ctx, active, active.channelId);
}
