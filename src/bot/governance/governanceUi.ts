import {
  type ButtonInteraction,
  type Client,
  channelMention,
  DiscordAPIError,
  MessageFlags,
  RESTJSONErrorCodes,
  ThreadAutoArchiveDuration,
  type ThreadChannel,
} from 'discord.js';
import type { Config } from '../../services/config.ts';
import { channelUnusable } from '../../services/errors.ts';
import type { EventBus } from '../../services/eventBus.ts';
import type { Amendments, Decision } from '../../services/governance/amendments.ts';
import type { Proposal } from '../../services/governance/proposalStore.ts';
import type { Logger } from '../../services/logger.ts';
import type { Memory } from '../../services/memory/memory.ts';
import { createSingleFlight } from '../../shared/concurrency.ts';
import { truncate } from '../../shared/text.ts';
import type { ArchitectGate } from '../access/architects.ts';
import type { ChannelAccess } from '../access/channelAccess.ts';
import type { ButtonFamily } from '../interactions/buttons.ts';
import { NO_MENTIONS } from '../posting/personaPoster.ts';
import {
  CODEX_BUTTONS,
  type CodexAction,
  historyMessages,
  proposalMessage,
  refusalText,
} from './proposalCard.ts';

/**
 * Codex amendments in Discord: the proposal card (embed, diff, buttons) in the governance
 * channel, the history thread, and the buttons. Every press is checked on the server against
 * the stored proposal: the message only carries its id.
 */
export interface GovernanceUi {
  /**
   * Posts a proposal in the governance channel (or `fallbackChannelId` when none is set) and
   * remembers where; a proposal is posted once, however many callers ask at the same time.
   */
  post(proposal: Proposal, fallbackChannelId?: string): Promise<void>;
  /** After a restart: posts a pending proposal that never reached Discord, or whose card is gone. */
  repostPending(): Promise<void>;
  /** The `codex:` buttons. */
  readonly buttons: ButtonFamily;
  /** Posts proposals and notices as the loop produces them; returns a function that stops it. */
  listen(): () => void;
}

/** What the governance UI uses. */
export interface GovernancePorts {
  readonly client: Client;
  readonly config: Pick<Config, 'governanceChannelId' | 'logChannelId'>;
  readonly logger: Logger;
  readonly amendments: Amendments;
  readonly architects: Pick<ArchitectGate, 'check'>;
  readonly bus: EventBus;
  /** To show evidence only from channels the proposal's readers can read. */
  readonly access: Pick<ChannelAccess, 'sharedWith'>;
  readonly memory: Pick<Memory, 'get'>;
}

const ACTIONS = new Set<string>(['history', 'approve', 'reject'] satisfies CodexAction[]);

export function createGovernanceUi(ports: GovernancePorts): GovernanceUi {
  const log = ports.logger.child({ module: 'governance' });
  const { amendments } = ports;
  const posting = createSingleFlight<void>();
  const openingHistory = createSingleFlight<ThreadChannel>();

  function post(proposal: Proposal, fallbackChannelId?: string): Promise<void> {
    return posting.do(proposal.id, async () => {
      if (amendments.get(proposal.id)?.messageId) return;
      const channelId = ports.config.governanceChannelId ?? fallbackChannelId;
      // A proposal nobody can see would pause autonomy for good: it is withdrawn instead.
      const withdraw = (why: string) => {
        amendments.withdraw(proposal.id, `it could not be posted: ${why}`);
        log.error(
          { proposal: proposal.id, reason: why },
          'a proposal was withdrawn: it could not reach the architect',
        );
      };
      if (!channelId) {
        withdraw('GOVERNANCE_CHANNEL_ID is not set');
        return;
      }
      const channel = await ports.client.channels.fetch(channelId).catch((error: unknown) => {
        // Unknown channel or no access: a configuration mistake. Anything else may pass.
        if (error instanceof DiscordAPIError && [10003, 50001, 50013].includes(Number(error.code)))
          return null;
        throw error;
      });
      if (!channel?.isSendable()) {
        withdraw(
          `${ports.config.governanceChannelId ? 'GOVERNANCE_CHANNEL_ID' : 'the channel'} ${channelId} is not a channel the bot can post in`,
        );
        throw channelUnusable(
          ports.config.governanceChannelId ? 'GOVERNANCE_CHANNEL_ID' : 'the channel',
          channelId,
          'it is not a channel the bot can post in',
        );
      }
      const message = await channel.send(
        proposalMessage(amendments.get(proposal.id) ?? proposal, { withDiff: true }),
      );
      amendments.placed(proposal.id, { channelId, messageId: message.id });
      log.info({ proposal: proposal.id, messageId: message.id }, 'proposal posted');
    });
  }

  /**
   * The proposal's history thread, created once however many architects press at the same time:
   * reused (and unarchived) when it exists, its messages posted until they all are.
   */
  function historyThread(interaction: ButtonInteraction, id: string): Promise<ThreadChannel> {
    return openingHistory.do(id, async () => {
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
        // Evidence from a channel the governance channel's readers may not all read is summarised.
        const readable = ports.access.sharedWith(proposal.channelId ?? thread.parentId ?? thread.id);
        const withheld = (recordId: string) => {
          const channelId = ports.memory.get(recordId)?.channelId;
          return channelId !== undefined && !readable.includes(channelId);
        };
        for (const part of historyMessages(proposal, { withheld }))
          await thread.send({ content: part, allowedMentions: NO_MENTIONS });
        amendments.placed(id, { historyPosted: true });
      }
      return thread;
    });
  }

  async function onButton(interaction: ButtonInteraction): Promise<void> {
    const [, action = '', id = ''] = interaction.customId.split(':');
    const privately = (content: string) =>
      interaction.deferred || interaction.replied
        ? interaction.followUp({ content, flags: MessageFlags.Ephemeral, allowedMentions: NO_MENTIONS })
        : interaction.reply({ content, flags: MessageFlags.Ephemeral, allowedMentions: NO_MENTIONS });
    if (!ACTIONS.has(action)) {
      await privately('I do not know that button.');
      return;
    }
    const verdict = await ports.architects.check(interaction);
    if (!verdict.ok) {
      log.info(
        { proposal: id, action, userId: interaction.user.id, code: verdict.code },
        'governance button refused',
      );
      await privately(`${verdict.reason} The proposal is unchanged.`);
      return;
    }
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
        await interaction.editReply({ content: refusalText(pending), allowedMentions: NO_MENTIONS });
        return;
      }
      const thread = await historyThread(interaction, id);
      // Recorded only once the history is there to read.
      const opened = amendments.openHistory(id, interaction.user.id);
      if (!opened.ok) {
        await interaction.editReply({ content: refusalText(opened), allowedMentions: NO_MENTIONS });
        return;
      }
      await refreshCard(opened.proposal);
      log.info({ proposal: id, userId: interaction.user.id, threadId: thread.id }, 'history opened');
      await interaction.editReply({
        content: `📜 The history is in ${channelMention(thread.id)}. Once you have read it, Approve is yours to press.`,
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
      await privately(refusalText(decision));
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

  return {
    post,
    buttons: { prefix: CODEX_BUTTONS, handle: onButton },
    async repostPending() {
      const active = amendments.active();
      if (active?.state !== 'pending') return;
      if (active.messageId && active.channelId) {
        // A card deleted by someone would leave the proposal undecidable: post it again.
        const channel = await ports.client.channels.fetch(active.channelId).catch(() => null);
        const message =
          channel?.isTextBased() && 'messages' in channel
            ? await channel.messages.fetch(active.messageId).catch(() => null)
            : null;
        if (message) return;
        log.warn({ proposal: active.id }, 'the proposal card is gone; posting it again');
        amendments.placed(active.id, { messageId: '' });
      }
      await post(active, active.channelId);
    },
    listen() {
      const notice = async (content: string, channelId = ports.config.governanceChannelId) => {
        if (!channelId) return;
        const channel = await ports.client.channels.fetch(channelId).catch(() => null);
        if (channel?.isSendable()) await channel.send({ content, allowedMentions: NO_MENTIONS });
      };
      const stops = [
        ports.bus.subscribe('proposal_ready', ({ proposal }) =>
          post(proposal).catch((error: unknown) =>
            log.error({ err: error, proposal: proposal.id }, 'could not post a proposal'),
          ),
        ),
        ports.bus.subscribe('proposal_abandoned', ({ proposal }) =>
          notice(
            `🛑 A codex amendment (${proposal.id}) was abandoned: ${truncate(proposal.reason ?? '', 1500)}\nAutonomy resumes.`,
          ),
        ),
        ports.bus.subscribe('codex_edited', async ({ version, stale }) => {
          await notice(
            `📜 The codex was edited on the host: version ${version} is in force.${stale ? ` Proposal ${stale.id} was drafted against the old text and is now stale.` : ''}`,
            ports.config.logChannelId,
          );
          // The stale proposal's card loses its buttons.
          if (stale?.channelId && stale.messageId) {
            const channel = await ports.client.channels.fetch(stale.channelId).catch(() => null);
            const card =
              channel?.isTextBased() && 'messages' in channel
                ? await channel.messages.fetch(stale.messageId).catch(() => null)
                : null;
            await card?.edit(proposalMessage(stale)).catch(() => undefined);
          }
        }),
        ports.bus.subscribe('codex_refused', ({ problems }) =>
          notice(
            truncate(
              `⚠️ An edit of the codex on the host was refused; the codex in force is unchanged.\n${problems.map((p) => `- ${p}`).join('\n')}`,
              1900,
            ),
            ports.config.logChannelId,
          ),
        ),
        ports.bus.subscribe('codex_amended', ({ proposal, version }) =>
          notice(
            `📜 Codex version ${version} is in force (proposal ${proposal.id}). The personas use it from their next turn.`,
            ports.config.logChannelId,
          ),
        ),
      ];
      return () => {
        for (const stop of stops) stop();
      };
    },
  };
}
