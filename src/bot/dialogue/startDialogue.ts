import {
  type Client,
  DiscordAPIError,
  type Message,
  type NewsChannel,
  RESTJSONErrorCodes,
  type TextChannel,
  ThreadAutoArchiveDuration,
  type ThreadChannel,
} from 'discord.js';
import type { Logger } from '../../services/logger.ts';
import type { SlidingWindow } from '../../services/slidingWindow.ts';
import { withoutHostDetails } from '../../shared/hostDetails.ts';
import { truncate } from '../../shared/text.ts';
import { admitMember } from '../access/memberRuns.ts';
import type { PersonaPoster } from '../posting/personaPoster.ts';
import type { DialogueRunner, Prepared } from './dialogueRunner.ts';
import type { BotThreads } from './threads.ts';

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
      return `I could not start a thread here (${withoutHostDetails(error instanceof Error ? error.message : String(error))}).`;
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

export interface DialogueStarterDeps {
  client: Client;
  /**
   * Dialogues per member within the hour, in the window the slash commands that use the models
   * share; the bot's own (the motivator) are not counted.
   */
  memberRuns: SlidingWindow;
  threads: BotThreads;
  runner: Pick<DialogueRunner, 'enqueue'>;
  poster: Pick<PersonaPoster, 'threadFor'>;
  logger: Logger;
}

/**
 * Starts dialogues through the runner's queue, so a thread's messages keep their order even while
 * the thread is being opened: a thread started on a message has that message's id, so a
 * follow-up written before Discord has answered waits behind the opening.
 */
export function createDialogueStarter(deps: DialogueStarterDeps): DialogueStarter {
  const log = deps.logger.child({ module: 'dialogues' });
  return {
    async start(request) {
      const refused = admit(deps.memberRuns, log, request.userId);
      if (refused) return refused;
      const { origin } = request;
      // A thread on a message takes the message's id: its queue can be joined before it exists.
      if ('message' in origin) {
        const { prepared, done } = deps.runner.enqueue(origin.message.id, async () => {
          const opened = await openSafely(deps.client, log, request);
          return opened.ok ? registerAndRead(deps, log, request, opened.thread) : { result: opened };
        });
        const outcome = await prepared;
        return outcome.ok ? { ...outcome, run: done } : outcome;
      }
      // Any other thread is known to nobody until it exists.
      const opened = await openSafely(deps.client, log, request);
      if (!opened.ok) return opened;
      const { prepared, done } = deps.runner.enqueue(opened.thread.id, () =>
        registerAndRead(deps, log, request, opened.thread),
      );
      const outcome = await prepared;
      return outcome.ok ? { ...outcome, run: done } : outcome;
    },
    async continueIn(thread, task, userId) {
      const refused = admit(deps.memberRuns, log, userId);
      if (refused) return refused;
      const { done } = deps.runner.enqueue(thread.id, async () => {
        if (!(await deps.threads.isOurs(thread.id))) {
          await deps.threads.register(thread.id, { channelId: thread.parentId ?? thread.id, userId });
        }
        log.info({ threadId: thread.id, userId, guildId: thread.guildId }, 'dialogue continues');
        return {
          result: undefined,
          dialogue: { thread: deps.poster.threadFor(thread), message: task, meta: { userId } },
        };
      });
      return { ok: true, run: done };
    },
  };
}

/** Counts a member's dialogue, or says politely when the next one may start. */
function admit(memberRuns: SlidingWindow, log: Logger, userId: string | undefined): RateLimited | undefined {
  if (!userId) return undefined;
  return admitMember(memberRuns, log, userId, 'start the next one');
}

type Opened = Exclude<StartOutcome, { ok: true }> | { ok: true; thread: ThreadChannel };
type OpenFailure = Extract<StartOutcome, { code: 'CHANNEL_UNUSABLE' | 'THREAD_FAILED' }>;

/** Opens the thread, or says why it could not be opened. */
async function openSafely(
  client: Client,
  log: Logger,
  request: NewDialogue,
): Promise<{ ok: true; thread: ThreadChannel } | OpenFailure> {
  try {
    return { ok: true, thread: await openThread(client, request) };
  } catch (error) {
    if (error instanceof ChannelUnusable) {
      return {
        ok: false,
        code: 'CHANNEL_UNUSABLE',
        reason: 'it is not a text channel the bot can open threads in',
      };
    }
    log.warn({ err: error, userId: request.userId }, 'could not start a thread');
    return { ok: false, code: 'THREAD_FAILED', reason: threadFailure(error) };
  }
}

/** Registers the new thread as a conversation, then reads the task: the dialogue to run, or why there is none. */
async function registerAndRead(
  deps: DialogueStarterDeps,
  log: Logger,
  request: NewDialogue,
  thread: ThreadChannel,
): Promise<Prepared<Opened>> {
  const userId = request.userId ?? deps.client.user?.id ?? 'bot';
  await deps.threads.register(thread.id, { channelId: thread.parentId ?? thread.id, userId });
  const task = typeof request.task === 'string' ? request.task : await request.task(thread);
  if (!task?.trim()) {
    await thread.send({ content: USAGE_HINT, allowedMentions: { parse: [] } });
    return { result: { ok: false, code: 'NO_TASK', reason: USAGE_HINT, thread } };
  }
  log.info({ threadId: thread.id, userId, guildId: thread.guildId }, 'dialogue started');
  return {
    result: { ok: true, thread },
    dialogue: { thread: deps.poster.threadFor(thread), message: task, meta: { userId } },
  };
}

async function postOpener(client: Client, channelId: string, opener: string): Promise<Message> {
  const channel = await client.channels.fetch(channelId).catch(() => null);
  if (!channel?.isSendable() || !('threads' in channel)) throw new ChannelUnusable();
  return channel.send({ content: opener, allowedMentions: { parse: [] } });
}

async function openThread(client: Client, request: NewDialogue): Promise<ThreadChannel> {
  const name = truncate(request.name, 100);
  const autoArchiveDuration = ThreadAutoArchiveDuration.OneDay;
  const reason = request.reason ? { reason: request.reason } : {};
  const { origin } = request;
  if ('message' in origin || 'channelId' in origin) {
    const message =
      'message' in origin ? origin.message : await postOpener(client, origin.channelId, origin.opener);
    return message.startThread({ name, autoArchiveDuration, ...reason });
  }
  const thread = await origin.channel.threads.create({ name, autoArchiveDuration, ...reason });
  if (origin.firstPost) await thread.send({ content: origin.firstPost, allowedMentions: { parse: [] } });
  return thread;
}
