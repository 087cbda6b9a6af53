import type { Client } from 'discord.js';
import type { Config } from '../../services/config.ts';
import type { EventBus } from '../../services/eventBus.ts';
import type { Proposal } from '../../services/governance/proposalStore.ts';
import type { Logger } from '../../services/logger.ts';
import { withoutHostDetails } from '../../shared/hostDetails.ts';
import { truncate } from '../../shared/text.ts';
import { sendableChannel } from '../posting/channels.ts';
import { NO_MENTIONS } from '../posting/mentions.ts';
import { proposalMessage } from './proposalCard.ts';

/** What the philosophical loop tells Discord as it happens: proposals to post, and notices. */

export interface NoticeDeps {
  readonly client: Client;
  readonly config: Pick<Config, 'governanceChannelId' | 'logChannelId'>;
  readonly bus: EventBus;
  readonly log: Logger;
  /** Posts a proposal card (once). */
  readonly post: (proposal: Proposal) => Promise<void>;
}

/** Posts proposals and notices as the loop produces them; returns a function that stops it. */
export function listenForGovernance(deps: NoticeDeps): () => void {
  const { bus, config } = deps;
  const notice = (content: string, channelId = config.governanceChannelId) =>
    sendNotice(deps, content, channelId);
  const stops = [
    bus.subscribe('proposal_ready', ({ proposal }) =>
      deps
        .post(proposal)
        .catch((error: unknown) =>
          deps.log.error({ err: error, proposal: proposal.id }, 'could not post a proposal'),
        ),
    ),
    bus.subscribe('proposal_abandoned', ({ proposal }) =>
      notice(
        `🛑 A codex amendment (${proposal.id}) was abandoned: ${truncate(proposal.reason ?? '', 1500)}\nAutonomy resumes.`,
      ),
    ),
    bus.subscribe('codex_edited', async ({ version, stale }) => {
      await notice(
        `📜 The codex was edited on the host: version ${version} is in force.${stale ? ` Proposal ${stale.id} was drafted against the old text and is now stale.` : ''}`,
        config.logChannelId,
      );
      if (stale) await retireCard(deps, stale);
    }),
    bus.subscribe('codex_refused', ({ problems }) =>
      notice(
        truncate(
          `⚠️ An edit of the codex on the host was refused; the codex in force is unchanged.\n${problems.map((p) => `- ${withoutHostDetails(p)}`).join('\n')}`,
          1900,
        ),
        config.logChannelId,
      ),
    ),
    bus.subscribe('codex_amended', ({ proposal, version }) =>
      notice(
        `📜 Codex version ${version} is in force (proposal ${proposal.id}). The personas use it from their next turn.`,
        config.logChannelId,
      ),
    ),
  ];
  return () => {
    for (const stop of stops) stop();
  };
}

/** A line in a channel, when it is set and the bot can post there. */
async function sendNotice(deps: Pick<NoticeDeps, 'client'>, content: string, channelId: string | undefined) {
  await (await sendableChannel(deps.client, channelId))?.send({ content, allowedMentions: NO_MENTIONS });
}

/** The stale proposal's card loses its buttons. */
async function retireCard(deps: Pick<NoticeDeps, 'client'>, stale: Proposal) {
  if (!stale.channelId || !stale.messageId) return;
  const channel = await deps.client.channels.fetch(stale.channelId).catch(() => null);
  const card =
    channel?.isTextBased() && 'messages' in channel
      ? await channel.messages.fetch(stale.messageId).catch(() => null)
      : null;
  await card?.edit(proposalMessage(stale)).catch(() => undefined);
}
