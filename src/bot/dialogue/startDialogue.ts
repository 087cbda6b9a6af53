import {
  type Client,
  DiscordAPIError,
  type Message,
  type NewsChannel,
  RESTJSONErrorCodes,
  type TextChannel,
  ThreadAutoArchiveDuration,
  type ThreadChannel,
  TimestampStyles,
  time,
} from 'discord.js';
import type { Logger } from '../../services/logger.ts';
import type { SlidingWindow } from '../../services/slidingWindow.ts';
import { createKeyedLock } from '../../shared/concurrency.ts';
import { truncate } from '../../shared/text.ts';
import type { PersonaPoster } from '../posting/personaPoster.ts';
import type { Continuity } from './continuity.ts';
import type { DialogueRunner } from './dialogueRunner.ts';

/** The bot's own conversation threads. */
export interface BotThreads {
  /** Remembers a thread as one of the bot's conversations. */
  register(threadId: string, info: { channelId: string; userId: string }): Promise<void>;
  /** Whether a thread is one of the bot's conversations (registered when it began). */
  isOurs(threadId: string): Promise<boolean>;
}

export const USAGE_HINT =
  'Mention me with a task — for example `@BAT OS how should I plan a team offsite?` — and ALFRED, BRICK ' +
  'and ROBIN will work it out in a thread. You can also use `/ask`. Text files attached to the message ' +
  'are read as part of the task.';

/** Where a new dialogue's thread hangs. */
export type ThreadOrigin =
  /** A thread on this message (a mention, the motivator's opener). */
  | { message: Message }
  /** A thread without a starter message in this channel (`/ask`), opened by `firstPost`. */
  | { channel: TextChannel | NewsChannel; firstPost?: string }
  /** A thread on `opener`, posted first in the channel with this id (the motivator). */
  | { channelId: string; opener: string };

export interface NewDialogue {
  origin: ThreadOrigin;
  /** The thread's name; cut to Discord's 100 characters. */
  name: string;
  /** Who asked: a Discord user id; the bot's own when absent (the motivator). */
  userId?: string;
  /**
   * The task, or how to read it once the thread exists (attachments may be read, and skipped
   * ones reported, in the thread). Null or empty: nothing to do, and the thread says how to ask.
   */
  task: string | ((thread: ThreadChannel) => Promise<string | null>);
  /** For Discord's audit log. */
  reason?: string;
}

/** A member has started too many dialogues within the hour (`MEMBER_RUNS_PER_HOUR`). */
export interface RateLimited {
  ok: false;
  code: 'RATE_LIMITED';
  reason: string;
  /** When the member may start another, ms since the epoch. */
  retryAt: number;
}

export type StartOutcome =
  | { ok: true; thread: ThreadChannel; run: Promise<void> }
  | RateLimited
  | { ok: false; code: 'THREAD_FAILED'; reason: string }
  /** The channel of a `channelId` origin is not one the bot can post and open threads in. */
  | { ok: false; code: 'CHANNEL_UNUSABLE'; reason: string }
  | { ok: false; code: 'NO_TASK'; reason: string; thread: ThreadChannel };

/** The one way a dialogue starts in a new thread: open it, register it, run the dialogue. */
export interface DialogueStarter {
  start(request: NewDialogue): Promise<StartOutcome>;
  /**
   * Runs a dialogue in a thread that exists (a follow-up, `/ask` inside a thread), registering
   * it; resolves once the run is handed over (`run` settles when it ends).
   */
  continueIn(
    thread: ThreadChannel,
    task: string,
    userId: string,
  ): Promise<{ ok: true; run: Promise<void> } | RateLimited>;
}

class ChannelUnusable extends Error {}

/** What a person is told when no thread could be opened. */
export function threadFailure(error: unknown): string {
  const code = error instanceof DiscordAPIError ? error.code : undefined;
  switch (code) {
    case RESTJSONErrorCodes.ThreadAlreadyCreatedForMessage:
      return 'A thread already exists for this message: continue there.';
    case RESTJSONErrorCodes.MaximumActiveThreads:
      return 'This channel has too many active threads. Archive some and mention me again.';
    case RESTJSONErrorCodes.MissingPermissions:
    case RESTJSONErrorCodes.MissingAccess:
      return 'I need the **Create Public Threads** and **Send Messages in Threads** permissions here to start a dialogue.';
    default:
      return `I could not start a thread here (${error instanceof Error ? error.message : String(error)}).`;
  }
}

/** A thread name from the task: its first non-empty line, at most 100 characters, cut at a word. */
export function threadNameFor(task: string, fallback: string): string {
  const line =
    task
      .split('\n')
      .find((l) => l.trim())
      ?.replace(/\s+/g, ' ')
      .trim() ?? '';
  const name = line || fallback;
  if (name.length <= 100) return name;
  const cut = truncate(name, 100).slice(0, -1);
  const space = cut.lastIndexOf(' ');
  return `${(space > 60 ? cut.slice(0, space) : cut).trimEnd()}…`;
}

export function createDialogueStarter(deps: {
  client: Client;
  /** Remembers which threads have a dialogue running, so a crash is noticed at the next start. */
  continuity: Pick<Continuity, 'runStarted' | 'runEnded'>;
  /** Dialogues per member within the hour; the bot's own (the motivator) are not counted. */
  memberRuns: SlidingWindow;
  threads: BotThreads;
  runner: DialogueRunner;
  poster: Pick<PersonaPoster, 'threadFor'>;
  logger: Logger;
}): DialogueStarter {
  const log = deps.logger.child({ module: 'dialogues' });
  // Messages of one thread reach the runner in the order they came: a follow-up written while
  // the thread is still being opened and registered waits for the opening task. (A thread
  // started on a message has that message's id, so the key is known before Discord answers.)
  const arrival = createKeyedLock();

  async function postOpener(channelId: string, opener: string): Promise<Message> {
    const channel = await deps.client.channels.fetch(channelId).catch(() => null);
    if (!channel?.isSendable() || !('threads' in channel)) throw new ChannelUnusable();
    return channel.send({ content: opener, allowedMentions: { parse: [] } });
  }

  async function openThread(request: NewDialogue): Promise<ThreadChannel> {
    const name = truncate(request.name, 100);
    const autoArchiveDuration = ThreadAutoArchiveDuration.OneDay;
    const { origin } = request;
    if ('message' in origin || 'channelId' in origin) {
      const message =
        'message' in origin ? origin.message : await postOpener(origin.channelId, origin.opener);
      return message.startThread({
        name,
        autoArchiveDuration,
        ...(request.reason ? { reason: request.reason } : {}),
      });
    }
    const thread = await origin.channel.threads.create({
      name,
      autoArchiveDuration,
      ...(request.reason ? { reason: request.reason } : {}),
    });
    if (origin.firstPost) await thread.send({ content: origin.firstPost, allowedMentions: { parse: [] } });
    return thread;
  }

  /** Counts a member's dialogue, or says politely when the next one may start. */
  function admit(userId: string | undefined): RateLimited | undefined {
    if (!userId) return undefined;
    const verdict = deps.memberRuns.take(userId);
    if (verdict.ok) return undefined;
    log.info({ userId, limit: verdict.limit }, 'member rate limit reached');
    return {
      ok: false,
      code: 'RATE_LIMITED',
      retryAt: verdict.retryAt,
      reason: `You have started ${verdict.limit} dialogues within the hour, the most this server allows (MEMBER_RUNS_PER_HOUR). You can start the next one ${time(Math.ceil(verdict.retryAt / 1000), TimestampStyles.RelativeTime)}.`,
    };
  }

  return {
    async start(request) {
      const refused = admit(request.userId);
      if (refused) return refused;
      const key = 'message' in request.origin ? request.origin.message.id : undefined;
      const release = key ? await arrival.acquire(key) : () => {};
      try {
        return await startNow(request);
      } finally {
        release();
      }
    },
    async continueIn(thread, task, userId) {
      const refused = admit(userId);
      if (refused) return refused;
      const release = await arrival.acquire(thread.id);
      let run: Promise<void>;
      try {
        if (!(await deps.threads.isOurs(thread.id))) {
          await deps.threads.register(thread.id, { channelId: thread.parentId ?? thread.id, userId });
        }
        log.info({ threadId: thread.id, userId, guildId: thread.guildId }, 'dialogue continues');
        ({ run } = await runTracked(thread, task, userId));
      } finally {
        release();
      }
      return { ok: true, run };
    },
  };

  /** Hands a dialogue to the runner, remembered as running until it ends. */
  async function runTracked(
    thread: ThreadChannel,
    task: string,
    userId: string,
  ): Promise<{ run: Promise<void> }> {
    await deps.continuity.runStarted(thread.id);
    const run = deps.runner.run(deps.poster.threadFor(thread), task, { userId });
    // Wrapped: awaiting a promise that resolves to a promise would wait for the whole run.
    return { run: run.finally(() => deps.continuity.runEnded(thread.id)) };
  }

  /** Opens, registers and hands the dialogue to the runner; resolves once it is handed over. */
  async function startNow(request: NewDialogue): Promise<StartOutcome> {
    const userId = request.userId ?? deps.client.user?.id ?? 'bot';
    let thread: ThreadChannel;
    try {
      thread = await openThread(request);
    } catch (error) {
      if (error instanceof ChannelUnusable) {
        return {
          ok: false,
          code: 'CHANNEL_UNUSABLE',
          reason: 'it is not a text channel the bot can open threads in',
        };
      }
      log.warn({ err: error, userId }, 'could not start a thread');
      return { ok: false, code: 'THREAD_FAILED', reason: threadFailure(error) };
    }
    await deps.threads.register(thread.id, { channelId: thread.parentId ?? thread.id, userId });
    const task = typeof request.task === 'string' ? request.task : await request.task(thread);
    if (!task?.trim()) {
      await thread.send({ content: USAGE_HINT, allowedMentions: { parse: [] } });
      return { ok: false, code: 'NO_TASK', reason: USAGE_HINT, thread };
    }
    log.info({ threadId: thread.id, userId, guildId: thread.guildId }, 'dialogue started');
    const { run } = await runTracked(thread, task, userId);
    return { ok: true, thread, run };
  }
}
