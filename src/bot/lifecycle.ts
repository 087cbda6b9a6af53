import { type Client, Events, type Message } from 'discord.js';
import type { Config } from '../services/config.ts';
import type { Logger } from '../services/logger.ts';
import type { Scheduler } from '../services/scheduler.ts';
import type { ArchitectGate } from './access/architects.ts';
import type { Continuity } from './dialogue/continuity.ts';
import { createMotivatorJob, type MotivatorPorts } from './dialogue/motivator.ts';
import type { GovernanceUi } from './governance/governanceUi.ts';

/** What a start does once the client is built and its listeners are on. */
export interface StartDeps {
  client: Client;
  config: Pick<Config, 'autonomyCron' | 'autonomyChannelId' | 'shardCount'>;
  logger: Logger;
  architects: Pick<ArchitectGate, 'policy'>;
  governance: Pick<GovernanceUi, 'repostPending' | 'postsCards' | 'postUnposted'>;
  continuity: Pick<Continuity, 'resume' | 'heartbeat'>;
  scheduler: Pick<Scheduler, 'add'>;
  /** A person's message, handled once (the catch-up replays through it). */
  handle: (message: Message) => Promise<void>;
  /** Starts the heartbeat; returns what stops it. */
  every: (ms: number, tick: () => void) => () => void;
  motivator: MotivatorPorts;
}

/**
 * Logs in and waits for the gateway, then catches up: the governance warning when the home
 * server is unknown, pending proposals posted again, threads a crash cut short told, missed
 * messages read, the heartbeat, the motivator and the governance channel's poll started. Returns
 * what stops the heartbeat and the poll.
 */
export async function startBot(deps: StartDeps, token: string): Promise<() => void> {
  const { client, logger } = deps;
  const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
  await client.login(token);
  await ready;
  logger.info({ user: client.user?.tag, guilds: client.guilds.cache.size }, 'connected to Discord');
  if (!deps.architects.policy().homeGuildId) {
    logger.error(
      'GOVERNANCE IS OFF: the bot does not know its home server, so nobody may approve, reject, roll back, forge or remove tools. Set DISCORD_GUILD_ID to your server id (or GOVERNANCE_CHANNEL_ID to a channel the bot can see) and restart.',
    );
  }
  await deps.governance
    .repostPending()
    .catch((error: unknown) => logger.error({ err: error }, 'could not post a pending proposal'));
  // Threads a crash cut short are told so; messages sent while the bot was down are read now.
  await deps.continuity
    .resume(deps.handle)
    .catch((error: unknown) => logger.error({ err: error }, 'could not catch up after a restart'));
  const stopHeartbeat = deps.every(60_000, () => void deps.continuity.heartbeat().catch(() => undefined));
  const stopPolling = pollForProposals(deps);
  const { autonomyCron, autonomyChannelId } = deps.config;
  if (autonomyCron && !autonomyChannelId) {
    logger.warn('AUTONOMY_CRON is set but AUTONOMY_CHANNEL_ID is not: the motivator stays off');
  } else if (autonomyCron && autonomyChannelId) {
    // Of several shards, the one that holds the channel's server runs the motivator: the replies
    // in its threads come to that shard, and its dialogues are best run beside them.
    if (deps.config.shardCount === 1 || client.channels.cache.has(autonomyChannelId)) {
      deps.scheduler.add(createMotivatorJob(deps.motivator, autonomyCron, autonomyChannelId));
    } else {
      logger.info("the motivator runs in the process whose shard holds AUTONOMY_CHANNEL_ID's server");
    }
  }
  return () => {
    stopHeartbeat();
    stopPolling();
  };
}

/** How often the process holding the governance channel looks for a proposal drafted elsewhere. */
export const PROPOSAL_POLL_MS = 5_000;

/**
 * With several shard processes, a proposal drafted in one of them is announced on that process's
 * bus only, and only the process whose shard holds the governance channel posts cards: it looks
 * for a pending proposal without a card every few seconds. One process hears its own drafts.
 */
function pollForProposals(deps: StartDeps): () => void {
  if (deps.config.shardCount === 1 || !deps.governance.postsCards()) return () => {};
  // A look still posting (Discord slow) is not joined by the next: the card would go up twice.
  let looking = false;
  return deps.every(PROPOSAL_POLL_MS, () => {
    if (looking) return;
    looking = true;
    void deps.governance
      .postUnposted()
      .catch((error: unknown) => deps.logger.warn({ err: error }, 'could not post a pending proposal'))
      .finally(() => {
        looking = false;
      });
  });
}
