import { type AttachmentBuilder, ChannelType, type EmbedBuilder, type ThreadChannel } from 'discord.js';
import type { Logger } from '../../services/logger.ts';
import { NO_MENTIONS } from './mentions.ts';
import type { PostRequest } from './postingPort.ts';
import { turnMessages } from './turnMessages.ts';
import type { TurnStream } from './turnStream.ts';

/** What the bot posts as itself: a notice, or a card. */
export interface BotPost {
  content?: string;
  embeds?: EmbedBuilder[];
  files?: AttachmentBuilder[];
}

/**
 * A conversation thread as the runner uses it. The bot adapts a discord.js thread (persona
 * turns through the channel's webhook); a test passes a plain object that records.
 */
export interface DialogueThread {
  readonly id: string;
  readonly guildId: string | null;
  readonly parentId: string | null;
  /** A private thread: only its members (and those who manage threads) can open it. Absent: public. */
  readonly private?: boolean;
  /** Posts as the bot. */
  send(post: BotPost): Promise<void>;
  /**
   * A persona's turn, under its name and avatar (split as needed); resolves with the ids of the
   * messages it was posted as, in order (people react to them).
   */
  speak(persona: { displayName: string; avatarUrl: string }, content: string): Promise<string[]>;
  /**
   * Starts a persona's turn that appears as it is written; undefined where turns can only be
   * posted whole (no webhook).
   */
  stream?(persona: { displayName: string; avatarUrl: string }): StreamedTurn | undefined;
  /** Shows "typing…" for a few seconds. */
  typing(): Promise<void>;
  /** Posts as the bot in the thread's channel, for when the thread itself refuses posts. */
  tellOutside(content: string): Promise<void>;
}

/** A persona's turn on its way: its words so far, then the finished text. */
export interface StreamedTurn {
  /** What may be shown so far. */
  update(text: string): void;
  /** The finished turn, shown exactly (split as needed); resolves with the ids of its messages, in order. */
  finish(content: string): Promise<string[]>;
  /** The turn broke off: its partial words stay, marked as such. */
  abandon(): Promise<void>;
  /** Messages posted and edits made; when the first words showed. */
  readonly stats: { messages: number; edits: number; firstPostAt?: number };
}

/** What a thread is told, once per run, when Discord's limits hold its next turn back. */
export function delayNotice(waitMs: number): string {
  return `⏳ Discord is rate-limiting this channel; the rest follows in ~${Math.ceil(waitMs / 1000)} s.`;
}

/** How one of a run's turns goes out: whether it opens the run, and whom to tell of a delay. */
export type TurnOptions = Pick<PostRequest<unknown>, 'opening' | 'onDelayed'>;

/** What a dialogue thread needs of the persona poster. */
export interface PersonaTurns {
  /** Resolves with the ids of the messages the turn was posted as, in order. */
  post(
    thread: ThreadChannel,
    message: { displayName: string; avatarUrl: string; content: string },
    options?: TurnOptions,
  ): Promise<string[]>;
  stream(
    thread: ThreadChannel,
    persona: { displayName: string; avatarUrl: string },
    options?: TurnOptions,
  ): TurnStream | undefined;
}

/**
 * A discord.js thread as the dialogue runner speaks in it. A DialogueThread serves one run: its
 * first turn opens it, and it is told of a delay once.
 */
export function dialogueThreadFor(
  thread: ThreadChannel,
  deps: { turns: PersonaTurns; logger: Logger },
): DialogueThread {
  const { turns } = deps;
  let spoke = false;
  let toldDelay = false;
  const tellDelayed = (waitMs: number) => {
    if (toldDelay) return;
    toldDelay = true;
    thread
      .send({ content: delayNotice(waitMs), allowedMentions: NO_MENTIONS })
      .catch((error: unknown) =>
        deps.logger.warn({ err: error, threadId: thread.id }, 'could not post the delay notice'),
      );
  };
  return {
    id: thread.id,
    guildId: thread.guildId,
    parentId: thread.parentId,
    private: thread.type === ChannelType.PrivateThread,
    async send(content) {
      await thread.send({ ...content, allowedMentions: NO_MENTIONS });
    },
    stream(persona) {
      const turn = turns.stream(thread, persona, { opening: !spoke, onDelayed: tellDelayed });
      if (!turn) return undefined;
      spoke = true;
      return {
        update: (text) => turn.update(text),
        finish: (content) => turn.finish(turnMessages(content)),
        abandon: () => turn.abandon(),
        stats: turn.stats,
      };
    },
    speak(persona, content) {
      const opening = !spoke;
      spoke = true;
      return turns.post(
        thread,
        { displayName: persona.displayName, avatarUrl: persona.avatarUrl, content },
        { opening, onDelayed: tellDelayed },
      );
    },
    async typing() {
      await thread.sendTyping();
    },
    async tellOutside(content) {
      const parent = thread.parent;
      if (parent?.isSendable()) await parent.send({ content, allowedMentions: NO_MENTIONS });
    },
  };
}
