import type { Clock } from '../../services/clock.ts';
import { DEFAULT_MAX_POSTS, MESSAGE_LIMIT, planPosts } from './splitMessage.ts';

/** Shown at the end of a turn while it is still being written. */
export const STREAM_CURSOR = ' ▌';

/** One message of a turn: its text, and files when it carries the rest of a very long turn. */
export interface TurnPart {
  content: string;
  files?: unknown[];
}

/** How a streamed turn reaches Discord: through the posting lane, in the thread's order. */
export interface TurnStreamPort<Id> {
  /** Posts a new message of the turn; resolves with its id once Discord has it. */
  create(part: TurnPart): Promise<Id>;
  /**
   * Edits a message of the turn. `part` is read when the edit goes out, so edits that queue up
   * behind the limits collapse into one with the latest text.
   */
  edit(id: Id, part: () => TurnPart): Promise<void>;
  /** Deletes a message the finished turn no longer needs. */
  remove(id: Id): Promise<void>;
}

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

/** A persona's turn that appears as it is written, growing by edits. */
export interface TurnStream {
  /** The whole text that may be shown so far (it may also shrink: a tool call starts afresh). */
  update(text: string): void;
  /**
   * Shows the finished turn exactly: `parts` as {@link turnMessages} plans them. Existing
   * messages are edited where they differ, missing ones posted, extra ones deleted.
   */
  finish(parts: readonly TurnPart[]): Promise<void>;
  /** The turn will not finish (an error, a shutdown): the cursor goes, a mark says it broke off. */
  abandon(): Promise<void>;
  /** Messages posted and edits made so far. */
  readonly stats: { messages: number; edits: number; firstPostAt?: number };
}

interface Shown<Id> {
  id: Promise<Id>;
  /** What the message says (or will say once its queued edit goes out). */
  part: TurnPart;
  /** The text the next edit sends; read when it goes out. */
  wanted: TurnPart;
  /** An edit of this message waits in the lane. */
  queued: boolean;
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

/**
 * Streams one turn through `port`: the first words are posted at once, later ones coalesced
 * into at most one round of edits per `editIntervalMs`, each message edited only when its text
 * changed; past 2000 characters the turn goes on in a new message at a safe split point. The
 * finished turn replaces the preview exactly.
 */
export function createTurnStream<Id>(deps: {
  port: TurnStreamPort<Id>;
  clock: Clock;
  settings?: Partial<TurnStreamSettings>;
  /** Told of a failed post or edit (the stream goes on; `finish` settles what shows). */
  onError?: (error: unknown) => void;
}): TurnStream {
  const settings = { ...DEFAULT_TURN_STREAM_SETTINGS, ...deps.settings };
  const { port, clock } = deps;
  const shown: Shown<Id>[] = [];
  const stats: TurnStream['stats'] = { messages: 0, edits: 0 };
  let latest = '';
  let lastFlushAt = Number.NEGATIVE_INFINITY;
  /** The current round of posts and edits, and whether another is due after it. */
  let flushing: Promise<void> | undefined;
  let waiting = false;
  let dirty = false;
  let done = false;

  const report = (error: unknown) => deps.onError?.(error);

  function editTo(message: Shown<Id>, part: TurnPart): Promise<void> {
    message.wanted = part;
    if (message.queued) return Promise.resolve();
    message.queued = true;
    let sent: TurnPart | undefined;
    return message.id
      .then((id) =>
        port.edit(id, () => {
          message.queued = false;
          sent = message.wanted;
          return sent;
        }),
      )
      .then(
        () => {
          if (sent) message.part = sent;
          stats.edits += 1;
        },
        (error: unknown) => {
          // Not shown: the next round tries again from what the message says.
          message.queued = false;
          message.wanted = message.part;
          throw error;
        },
      );
  }

  function post(part: TurnPart): Shown<Id> {
    const id = port.create(part);
    stats.messages += 1;
    id.then(
      () => {
        stats.firstPostAt ??= clock.now();
      },
      () => undefined,
    );
    const message: Shown<Id> = { id, part, wanted: part, queued: false };
    shown.push(message);
    return message;
  }

  /** One round: the preview of the latest text, message by message. */
  async function flush(): Promise<void> {
    lastFlushAt = clock.now();
    dirty = false;
    const parts = previewParts(latest, settings.maxPosts);
    const work: Promise<unknown>[] = [];
    parts.forEach((part, index) => {
      const message = shown[index];
      if (!message) work.push(post(part).id);
      else if (!samePart(message.wanted, part)) work.push(editTo(message, part));
    });
    // A preview that shrank (a tool call starts the words afresh) empties the messages past it.
    shown.slice(parts.length).forEach((message, offset) => {
      const target = { content: parts.length + offset === 0 ? STREAM_CURSOR.trim() : '-# …' };
      if (!samePart(message.wanted, target)) work.push(editTo(message, target));
    });
    const results = await Promise.allSettled(work);
    for (const result of results) if (result.status === 'rejected') report(result.reason);
  }

  function schedule(): void {
    if (done) return;
    if (flushing || waiting) {
      dirty = true;
      return;
    }
    const wait = lastFlushAt + settings.editIntervalMs - clock.now();
    const run = () => {
      waiting = false;
      if (done) return;
      flushing = flush().finally(() => {
        flushing = undefined;
        if (dirty) schedule();
      });
    };
    if (wait <= 0 || shown.length === 0) {
      run();
      return;
    }
    waiting = true;
    clock.sleep(wait).then(run, run);
  }

  /** Lets the round in flight end; no new one starts. */
  async function settle(): Promise<void> {
    done = true;
    while (flushing) await flushing;
  }

  return {
    stats,
    update(text) {
      if (done || text === latest) return;
      latest = text;
      // Nothing is posted for a turn that has not said anything yet.
      if (shown.length === 0 && !text.trim()) return;
      schedule();
    },
    async finish(parts) {
      await settle();
      const work: Promise<unknown>[] = [];
      parts.forEach((part, index) => {
        const message = shown[index];
        if (!message) work.push(post(part).id);
        else if (part.files || !samePart(message.wanted, part)) work.push(editTo(message, part));
      });
      for (const message of shown.slice(parts.length)) {
        work.push(message.id.then((id) => port.remove(id)));
      }
      // Unlike the preview, the finished turn must arrive: the first failure is the caller's.
      const failed = (await Promise.allSettled(work)).find((result) => result.status === 'rejected');
      if (failed) throw (failed as PromiseRejectedResult).reason;
    },
    async abandon() {
      await settle();
      const last = shown.at(-1);
      if (!last) return;
      const content = last.wanted.content.endsWith(STREAM_CURSOR)
        ? `${last.wanted.content.slice(0, -STREAM_CURSOR.length)} …`
        : last.wanted.content;
      await editTo(last, { content }).catch(report);
    },
  };
}
