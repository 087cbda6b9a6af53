import type { ButtonInteraction, Client, ThreadChannel } from 'discord.js';
import type { Config } from '../../services/config.ts';
import type { EventBus } from '../../services/eventBus.ts';
import type { Amendments } from '../../services/governance/amendments.ts';
import type { Proposal } from '../../services/governance/proposalStore.ts';
import type { Logger } from '../../services/logger.ts';
import type { Memory } from '../../services/memory/memory.ts';
import { createSingleFlight } from '../../shared/concurrency.ts';
import type { ArchitectGate } from '../access/architects.ts';
import type { ChannelAccess } from '../access/channelAccess.ts';
import type { ButtonFamily } from '../interactions/buttons.ts';
import { handleCodexButton } from './codexButtons.ts';
import { listenForGovernance } from './governanceNotices.ts';
import { governanceReaders } from './governanceReaders.ts';
import { historyThread } from './historyThread.ts';
import { CODEX_BUTTONS } from './proposalCard.ts';
import { postProposal, postsIn, postUnposted, repostPending } from './proposalPosting.ts';

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
  /**
   * Whether this process posts the cards in the governance channel: with several shard
   * processes, only the one whose shard holds its server.
   */
  postsCards(): boolean;
  /** Posts a pending proposal that has no card yet (one drafted in another process). */
  postUnposted(): Promise<void>;
  /** The `codex:` buttons. */
  readonly buttons: ButtonFamily;
  /** Posts proposals and notices as the loop produces them; returns a function that stops it. */
  listen(): () => void;
}

/** What the governance UI uses. */
export interface GovernancePorts {
  readonly client: Client;
  readonly config: Pick<Config, 'governanceChannelId' | 'logChannelId' | 'shardCount'>;
  readonly logger: Logger;
  readonly amendments: Amendments;
  readonly architects: Pick<ArchitectGate, 'check'>;
  readonly bus: EventBus;
  /** To draft from and show evidence only from channels the proposal's readers can read. */
  readonly access: Pick<ChannelAccess, 'sharedWith'>;
  readonly memory: Pick<Memory, 'get'>;
}

/**
 * Binds the governance UI's parts to `ports`: the card's posting (`proposalPosting.ts`), the
 * history thread (`historyThread.ts`), the buttons (`codexButtons.ts`) and the notices
 * (`governanceNotices.ts`). Tells the loop who reads the governance channel, so that each
 * proposal is drafted from (and stores) only what they may read.
 */
export function createGovernanceUi(ports: GovernancePorts): GovernanceUi {
  ports.amendments.useReaders(governanceReaders(ports.access, ports.config));
  const log = ports.logger.child({ module: 'governance' });
  const posting = { ...ports, log, posting: createSingleFlight<void>() };
  const history = { ...ports, opening: createSingleFlight<ThreadChannel>() };
  const post = (proposal: Proposal, fallbackChannelId?: string) =>
    postProposal(posting, proposal, fallbackChannelId);
  const buttons = {
    ...ports,
    log,
    historyThread: (interaction: ButtonInteraction, id: string) => historyThread(history, interaction, id),
  };
  return {
    post,
    buttons: { prefix: CODEX_BUTTONS, handle: (interaction) => handleCodexButton(buttons, interaction) },
    repostPending: () => repostPending(posting),
    postsCards: () =>
      ports.config.governanceChannelId !== undefined && postsIn(posting, ports.config.governanceChannelId),
    postUnposted: () => postUnposted(posting),
    listen: () => listenForGovernance({ ...ports, log, post: (proposal) => post(proposal) }),
  };
}
