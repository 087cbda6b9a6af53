import type { AttachmentBuilder, EmbedBuilder } from 'discord.js';

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
  /** Posts as the bot. */
  send(post: BotPost): Promise<void>;
  /** A persona's turn, under its name and avatar (split as needed). */
  speak(persona: { displayName: string; avatarUrl: string }, content: string): Promise<void>;
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
  /** The finished turn, shown exactly (split as needed). */
  finish(content: string): Promise<void>;
  /** The turn broke off: its partial words stay, marked as such. */
  abandon(): Promise<void>;
  /** Messages posted and edits made; when the first words showed. */
  readonly stats: { messages: number; edits: number; firstPostAt?: number };
}
