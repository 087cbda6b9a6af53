import { type Client, channelMention, DiscordAPIError } from 'discord.js';
import type { Config } from '../../services/config.ts';
import { channelUnusable } from '../../services/errors.ts';
import type { Amendments } from '../../services/governance/amendments.ts';
import type { Proposal } from '../../services/governance/proposalStore.ts';
import type { Logger } from '../../services/logger.ts';
import type { SingleFlight } from '../../shared/concurrency.ts';
import { proposalMessage } from './proposalCard.ts';

/**
 * The proposal card in the governance channel: posted once, and again after a restart if it is
 * gone. With several shard processes, by the process whose shard holds the channel's server only
 * (see {@link postsIn}): a proposal drafted in another process is found there by its poll
 * ({@link postUnposted}).
 */

export interface PostingDeps {
  readonly client: Client;
  readonly config: Pick<Config, 'governanceChannelId' | 'shardCount'>;
  readonly amendments: Pick<Amendments, 'get' | 'withdraw' | 'placed' | 'active'>;
  readonly log: Logger;
  /** One post per proposal, however many callers ask at the same time. */
  readonly posting: SingleFlight<void>;
}

/**
 * Whether this process posts cards in `channelId`: with several shard processes, only the one
 * whose shard holds the channel's server (its channels are in this client's cache from the
 * gateway; one fetched from another server is never cached), so that two processes starting
 * together never both post a missing card. One process posts everywhere.
 */
export function postsIn(deps: Pick<PostingDeps, 'client' | 'config'>, channelId: string): boolean {
  return deps.config.shardCount === 1 || deps.client.channels.cache.has(channelId);
}

/**
 * Posts a proposal in the governance channel (or `fallbackChannelId` when none is set) and
 * remembers where. A proposal that cannot reach the architect is withdrawn: it would pause
 * autonomy for good.
 */
export function postProposal(
  deps: PostingDeps,
  proposal: Proposal,
  fallbackChannelId?: string,
): Promise<void> {
  const { amendments, config, log } = deps;
  return deps.posting.do(proposal.id, async () => {
    if ((await amendments.get(proposal.id))?.messageId) return;
    const channelId = config.governanceChannelId ?? fallbackChannelId;
    // A proposal nobody can see would pause autonomy for good: it is withdrawn instead.
    const withdraw = async (why: string) => {
      await amendments.withdraw(proposal.id, `it could not be posted: ${why}`);
      log.error(
        { proposal: proposal.id, reason: why },
        'a proposal was withdrawn: it could not reach the architect',
      );
    };
    if (!channelId) {
      await withdraw('GOVERNANCE_CHANNEL_ID is not set');
      return;
    }
    // Its evidence was judged for another channel's readers: these may not read all it says.
    if (proposal.draftedFor !== undefined && proposal.draftedFor !== channelId) {
      await withdraw(
        `it was drafted for the readers of ${channelMention(proposal.draftedFor)}, not those of ${channelMention(channelId)}`,
      );
      return;
    }
    if (!postsIn(deps, channelId)) {
      log.info(
        { proposal: proposal.id },
        "the card is posted by the process whose shard holds its channel's server",
      );
      return;
    }
    const channel = await deps.client.channels.fetch(channelId).catch((error: unknown) => {
      // Unknown channel or no access: a configuration mistake. Anything else may pass.
      if (error instanceof DiscordAPIError && [10003, 50001, 50013].includes(Number(error.code))) return null;
      throw error;
    });
    if (!channel?.isSendable()) {
      const setting = config.governanceChannelId ? 'GOVERNANCE_CHANNEL_ID' : 'the channel';
      await withdraw(`${setting} ${channelId} is not a channel the bot can post in`);
      throw channelUnusable(setting, channelId, 'it is not a channel the bot can post in');
    }
    const message = await channel.send(
      proposalMessage((await amendments.get(proposal.id)) ?? proposal, { withDiff: true }),
    );
    await amendments.placed(proposal.id, { channelId, messageId: message.id });
    log.info({ proposal: proposal.id, messageId: message.id }, 'proposal posted');
  });
}

/**
 * After a restart: posts a pending proposal that never reached Discord, or whose card is gone —
 * in the process that posts in its channel only.
 */
export async function repostPending(deps: PostingDeps): Promise<void> {
  const active = await deps.amendments.active();
  if (active?.state !== 'pending') return;
  const channelId = deps.config.governanceChannelId ?? active.channelId;
  if (channelId && !postsIn(deps, channelId)) return;
  if (active.messageId && active.channelId) {
    // A card deleted by someone would leave the proposal undecidable: post it again.
    const channel = await deps.client.channels.fetch(active.channelId).catch(() => null);
    const message =
      channel?.isTextBased() && 'messages' in channel
        ? await channel.messages.fetch(active.messageId).catch(() => null)
        : null;
    if (message) return;
    deps.log.warn({ proposal: active.id }, 'the proposal card is gone; posting it again');
    await deps.amendments.placed(active.id, { messageId: '' });
  }
  await postProposal(deps, active, active.channelId);
}

/**
 * A pending proposal without a card (drafted in another process, whose bus this one does not
 * hear): posted now. The process holding the governance channel asks every few seconds.
 */
export async function postUnposted(deps: PostingDeps): Promise<void> {
  const active = await deps.amendments.active();
  if (active?.state !== 'pending' || active.messageId) return;
  await postProposal(deps, active, active.channelId);
}
