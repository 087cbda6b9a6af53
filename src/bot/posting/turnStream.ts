import type { Clock } from '../../services/clock.ts';
import { DEFAULT_MAX_POSTS, MESSAGE_LIMIT, planPosts } from './splitMessage.ts';
import {
  StreamedMessages,
  type StreamStats,
  type TurnPart,
  type TurnStreamPort,
} from './streamedMessages.ts';

export type { TurnPart, TurnStreamPort } from './streamedMessages.ts';

/** Shown at the end of a turn while it is still being written. */
export const STREAM_CURSOR = ' ▌';

export interface TurnStreamSettings {
  /** Least time between two rounds of edits of one turn, in ms (default 1000). */
  editIntervalMs: number;
  /** Most messages one turn shows (default {@link DEFAULT_MAX_POSTS}). */
  maxPosts: number;
}

export const DEFAULT_TURN_STREAM_SETTINGS: Readonly<TurnStreamSettings> = Object.freeze({
  editIntervalMs: 1_000,
  maxPosts: DEFAULT_MAX_POSTS,
});

/** A persona's turn that appears as it is written, growing by edits; `Id` is a message's id. */
export interface TurnStream<Id = string> {
  /** The whole text that may be shown so far (it may also shrink: a tool call starts afresh). */
  update(text: string): void;
  /**
   * Shows the finished turn exactly: `parts` as {@link turnMessages} plans them. Existing
   * messages are edited where they differ, missing ones posted, extra ones deleted. Resolves with
   * the ids of the turn's messages, in order.
   */
  finish(parts: readonly TurnPart[]): Promise<Id[]>;
  /** The turn will not finish (an error, a shutdown): the cursor goes, a mark says it broke off. */
  abandon(): Promise<void>;
  /** Messages posted and edits made so far. */
  readonly stats: { messages: number; edits: number; firstPostAt?: number };
}

/** What the preview of `text` looks like as messages: all but the last frozen, the last with the cursor. */
function previewParts(text: string, maxPosts: number): TurnPart[] {
  if (!text.trim()) return [];
  const plan = planPosts(text, { limit: MESSAGE_LIMIT - STREAM_CURSOR.length, maxParts: maxPosts });
  const parts: TurnPart[] = plan.parts.map((content) => ({ content }));
  // A turn longer than its messages goes on in the last one, whose rest comes as a file at the end.
  if (plan.overflow !== undefined) parts.push({ content: '-# …' });
  const last = parts.at(-1);
  if (last) last.content += STREAM_CURSOR;
  return parts;
}

const samePart = (a: TurnPart, b: TurnPart) => a.content === b.content && !a.files && !b.files;

/** What a streamed turn needs: Discord, the time, its pacing, and whom to tell of a failed edit. */
export interface TurnStreamDeps<Id> {
  port: TurnStreamPort<Id>;
  clock: Clock;
  settings?: Partial<TurnStreamSettings>;
  /** Told of a failed post or edit (the stream goes on; `finish` settles what shows). */
  onError?: (error: unknown) => void;
}

/**
 * Streams one turn through `port`: the first words are posted at once, later ones coalesced
 * into at most one round of edits per `editIntervalMs`, each message edited only when its text
 * changed; past 2000 characters the turn goes on in a new message at a safe split point. The
 * finished turn replaces the preview exactly.
 */
export function createTurnStream<Id>(deps: TurnStreamDeps<Id>): TurnStream<Id> {
  return new PacedTurnStream(deps);
}

/** A streamed turn in rounds: one round of posts and edits in flight, the next paced after it. */
class PacedTurnStream<Id> implements TurnStream<Id> {
  readonly stats: StreamStats;
  private readonly settings: TurnStreamSettings;
  private readonly messages: StreamedMessages<Id>;
  private latest = '';
  private lastFlushAt = Number.NEGATIVE_INFINITY;
  /** The current round of posts and edits, and whether another is due after it. */
  private flushing: Promise<void> | undefined;
  private waiting = false;
  private dirty = false;
  private done = false;

  constructor(private readonly deps: TurnStreamDeps<Id>) {
    this.settings = { ...DEFAULT_TURN_STREAM_SETTINGS, ...deps.settings };
    this.messages = new StreamedMessages({ port: deps.port, clock: deps.clock });
    this.stats = this.messages.stats;
  }

  update(text: string): void {
    if (this.done || text === this.latest) return;
    this.latest = text;
    // Nothing is posted for a turn that has not said anything yet.
    if (this.messages.shown.length === 0 && !text.trim()) return;
    this.schedule();
  }

  async finish(parts: readonly TurnPart[]): Promise<Id[]> {
    await this.settle();
    const { messages } = this;
    const work: Promise<unknown>[] = [];
    parts.forEach((part, index) => {
      const message = messages.shown[index];
      if (!message) work.push(messages.post(part).id);
      else if (part.files || !samePart(message.wanted, part)) work.push(messages.editTo(message, part));
    });
    for (const message of messages.shown.slice(parts.length)) work.push(messages.remove(message));
    // Unlike the preview, the finished turn must arrive: the first failure is the caller's.
    const failed = (await Promise.allSettled(work)).find((result) => result.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    // The first messages are the turn's: those past its end were deleted.
    return Promise.all(messages.shown.slice(0, parts.length).map((message) => message.id));
  }

  async abandon(): Promise<void> {
    await this.settle();
    const last = this.messages.shown.at(-1);
    if (!last) return;
    const content = last.wanted.content.endsWith(STREAM_CURSOR)
      ? `${last.wanted.content.slice(0, -STREAM_CURSOR.length)} …`
      : last.wanted.content;
    await this.messages.editTo(last, { content }).catch((error: unknown) => this.report(error));
  }

  private report(error: unknown): void {
    this.deps.onError?.(error);
  }

  private schedule(): void {
    if (this.done) return;
    if (this.flushing || this.waiting) {
      this.dirty = true;
      return;
    }
    const wait = this.lastFlushAt + this.settings.editIntervalMs - this.deps.clock.now();
    const run = () => {
      this.waiting = false;
      if (this.done) return;
      this.flushing = this.flush().finally(() => {
        this.flushing = undefined;
        if (this.dirty) this.schedule();
      });
    };
    if (wait <= 0 || this.messages.shown.length === 0) {
      run();
      return;
    }
    this.waiting = true;
    this.deps.clock.sleep(wait).then(run, run);
  }

  /** One round: the preview of the latest text, message by message. */
  private async flush(): Promise<void> {
    const { messages } = this;
    this.lastFlushAt = this.deps.clock.now();
    this.dirty = false;
    const parts = previewParts(this.latest, this.settings.maxPosts);
    const work: Promise<unknown>[] = [];
    parts.forEach((part, index) => {
      const message = messages.shown[index];
      if (!message) work.push(messages.post(part).id);
      else if (!samePart(message.wanted, part)) work.push(messages.editTo(message, part));
    });
    // A preview that shrank (a tool call starts the words afresh) empties the messages past it.
    messages.shown.slice(parts.length).forEach((message, offset) => {
      const target = { content: parts.length + offset === 0 ? STREAM_CURSOR.trim() : '-# …' };
      if (!samePart(message.wanted, target)) work.push(messages.editTo(message, target));
    });
    const results = await Promise.allSettled(work);
    for (const result of results) if (result.status === 'rejected') this.report(result.reason);
  }

  /** Lets the round in flight end; no new one starts. */
  private async settle(): Promise<void> {
    this.done = true;
    while (this.flushing) await this.flushing;
  }
}
