import { type Client, type Message, SnowflakeUtil, type TextBasedChannel } from 'discord.js';
import type { AppStore } from '../../services/appStore.ts';
import type { Clock } from '../../services/clock.ts';
import type { Logger } from '../../services/logger.ts';
import { NO_MENTIONS } from '../posting/mentions.ts';
import { STREAM_CURSOR } from '../posting/turnStream.ts';

/**
 * Nobody is left waiting in silence across a restart: dialogues a crash cut short are told so
 * at the next start, and messages sent while the bot was down are read then, oldest first, as
 * if they had just arrived (bounded: recent ones only, a few per channel).
 */
export interface Continuity {
  /** A dialogue started in this thread (remembered until it ends, so a crash is noticed). */
  runStarted(threadId: string): Promise<void>;
  runEnded(threadId: string): Promise<void>;
  /**
   * A person's message arrived: remembered as the channel's latest seen. False when this
   * message was already handled (live and by the catch-up both): handle it once only.
   */
  firstSighting(message: Message): Promise<boolean>;
  /** At start: tells the threads a crash interrupted, then replays what was missed. */
  resume(handle: (message: Message) => Promise<void>): Promise<{ interrupted: number; replayed: number }>;
  /** Remembers that the bot is online now (called on a timer and at shutdown). */
  heartbeat(): Promise<void>;
}

/** How far back the catch-up reads, and how much. */
export const CATCH_UP = { maxAgeMs: 24 * 60 * 60 * 1000, perChannel: 20, total: 100, handledMemory: 5000 };

const RUNNING = 'continuity:running';
const ONLINE = 'continuity:online';
/** A process's own key, of several sharing the store: each restarts, and catches up, on its own. */
const scoped = (key: string, scope: string | undefined) => (scope ? `${key}:${scope}` : key);
const lastSeenKey = (channelId: string) => `continuity:last-seen:${channelId}`;

export const INTERRUPTED_NOTICE =
  '⏹️ I stopped unexpectedly in the middle of this dialogue (the bot restarted). What was said so far is kept: send your message again to go on.';

export interface ContinuityDeps {
  client: Client;
  store: AppStore;
  clock: Clock;
  logger: Logger;
  /**
   * Whose running dialogues and time online these are, of several processes sharing the store
   * (`shards:0,2`): a restarted shard tells its own threads, not another's. None for one process.
   */
  scope?: string;
}

export function createContinuity(deps: ContinuityDeps): Continuity {
  const log = deps.logger.child({ module: 'continuity' });
  const running = new RunningThreads(deps.store, log, scoped(RUNNING, deps.scope));
  const handled = new HandledMessages(CATCH_UP.handledMemory);
  const heartbeat = () => deps.store.set(scoped(ONLINE, deps.scope), deps.clock.now());
  return {
    runStarted: (threadId) => running.add(threadId),
    runEnded: (threadId) => running.delete(threadId),
    async firstSighting(message) {
      if (!handled.first(message.id)) return false;
      const key = lastSeenKey(message.channelId);
      const seen = await deps.store.get<string>(key);
      if (!seen || BigInt(seen) < BigInt(message.id)) await deps.store.set(key, message.id);
      return true;
    },
    async resume(handle) {
      const interrupted = await tellInterrupted(deps, log, await running.takeOver());
      await running.save();
      const replayed = await replay(deps, log, handle);
      await heartbeat();
      if (interrupted || replayed) log.info({ interrupted, replayed }, 'resumed after a restart');
      return { interrupted, replayed };
    },
    heartbeat,
  };
}

/** The threads with a dialogue running, kept in the store so that a crash leaves them behind. */
class RunningThreads {
  private running = new Set<string>();
  // The set is written whole: one writer at a time keeps it consistent.
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: AppStore,
    private readonly log: Logger,
    private readonly key: string,
  ) {}

  add(threadId: string): Promise<void> {
    this.running.add(threadId);
    return this.save();
  }

  async delete(threadId: string): Promise<void> {
    if (this.running.delete(threadId)) await this.save();
  }

  /**
   * At start: the threads the last process left running (a crash cut them short); the set starts
   * afresh, and is written once they have been told (`save`), so a crash meanwhile tells them again.
   */
  async takeOver(): Promise<string[]> {
    this.running = new Set();
    return (await this.store.get<string[]>(this.key)) ?? [];
  }

  save(): Promise<void> {
    const snapshot = [...this.running];
    this.writing = this.writing
      .then(() => this.store.set(this.key, snapshot))
      .catch((error: unknown) => {
        this.log.warn({ err: error }, 'could not remember the running dialogues');
      });
    return this.writing;
  }
}

/** The ids of recent messages already handled, a bounded few: the live gateway and the catch-up both deliver them. */
class HandledMessages {
  private readonly ids = new Set<string>();
  constructor(private readonly max: number) {}

  /** True the first time an id is seen. */
  first(id: string): boolean {
    if (this.ids.has(id)) return false;
    this.ids.add(id);
    if (this.ids.size > this.max) this.ids.delete(this.ids.values().next().value as string);
    return true;
  }
}

/**
 * A turn that was streaming when the bot died keeps its words but loses its cursor, so it no
 * longer looks as if it were still being written. Only the thread's last messages are read.
 */
async function stopCursors(channel: TextBasedChannel, log: Logger): Promise<void> {
  const recent = await channel.messages.fetch({ limit: 20 }).catch(() => null);
  // One persona's webhook serves all its messages: asked for once.
  const webhooks = new Map<string, ReturnType<Message['fetchWebhook']>>();
  for (const message of recent?.values() ?? []) {
    if (!message.webhookId || !message.content.endsWith(STREAM_CURSOR)) continue;
    try {
      const fetched = webhooks.get(message.webhookId) ?? message.fetchWebhook();
      webhooks.set(message.webhookId, fetched);
      const webhook = await fetched;
      await webhook.editMessage(message.id, {
        content: message.content.slice(0, -STREAM_CURSOR.length),
        allowedMentions: NO_MENTIONS,
        ...(channel.isThread() ? { threadId: channel.id } : {}),
      });
    } catch (error) {
      log.warn({ err: error, messageId: message.id }, 'could not take the cursor off a cut-short turn');
    }
  }
}

/** Tells each thread a crash cut short that it was; returns how many were told. */
async function tellInterrupted(
  deps: ContinuityDeps,
  log: Logger,
  threads: readonly string[],
): Promise<number> {
  let told = 0;
  for (const threadId of threads) {
    const channel = await deps.client.channels.fetch(threadId).catch(() => null);
    if (!channel?.isSendable()) continue;
    if (channel.isTextBased()) await stopCursors(channel, log);
    await channel
      .send({ content: INTERRUPTED_NOTICE, allowedMentions: NO_MENTIONS })
      .then(() => told++)
      .catch((error: unknown) =>
        log.warn({ err: error, threadId }, 'could not tell a thread it was interrupted'),
      );
  }
  return told;
}

/** The channels to read back: every text channel and active thread the bot can read. */
function readableChannels(client: Client): TextBasedChannel[] {
  const found: TextBasedChannel[] = [];
  for (const guild of client.guilds.cache.values()) {
    for (const channel of guild.channels.cache.values()) {
      if (!channel.isTextBased() || channel.isVoiceBased()) continue;
      if (channel.isThread() && channel.archived) continue;
      const me = guild.members.me;
      if (me && !channel.permissionsFor(me).has(['ViewChannel', 'ReadMessageHistory'])) continue;
      found.push(channel);
    }
  }
  return found;
}

/** Hands what people wrote while the bot was down to `handle`, oldest first per channel; returns how many. */
async function replay(
  deps: ContinuityDeps,
  log: Logger,
  handle: (message: Message) => Promise<void>,
): Promise<number> {
  const online = await deps.store.get<number>(scoped(ONLINE, deps.scope));
  // The first start ever: nothing was missed.
  if (online === undefined) return 0;
  const oldest = Math.max(online, deps.clock.now() - CATCH_UP.maxAgeMs);
  let replayed = 0;
  for (const channel of readableChannels(deps.client)) {
    if (replayed >= CATCH_UP.total) break;
    const missed = await missedIn(deps.store, log, channel, oldest);
    for (const message of missed.slice(0, CATCH_UP.total - replayed)) {
      replayed++;
      await handle(message).catch((error: unknown) =>
        log.error({ err: error, messageId: message.id }, 'could not handle a missed message'),
      );
    }
  }
  return replayed;
}

/** A channel's messages from people since the last one seen (and not before `oldest`), oldest first. */
async function missedIn(
  store: AppStore,
  log: Logger,
  channel: TextBasedChannel,
  oldest: number,
): Promise<Message[]> {
  const seen = await store.get<string>(lastSeenKey(channel.id));
  const after = seen ?? SnowflakeUtil.generate({ timestamp: oldest }).toString();
  if (channel.lastMessageId && BigInt(channel.lastMessageId) <= BigInt(after)) return [];
  const batch = await channel.messages
    .fetch({ after, limit: CATCH_UP.perChannel })
    .catch((error: unknown) => {
      log.warn({ err: error, channelId: channel.id }, 'could not read back a channel');
      return null;
    });
  return [...(batch?.values() ?? [])]
    .filter((m) => m.createdTimestamp >= oldest && !m.author.bot && !m.webhookId)
    .sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
}
