import type { Clock } from '../../services/clock.ts';

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

/** A message of the turn, as posted or on its way. */
export interface Shown<Id> {
  id: Promise<Id>;
  /** What the message says (or will say once its queued edit goes out). */
  part: TurnPart;
  /** The text the next edit sends; read when it goes out. */
  wanted: TurnPart;
  /** An edit of this message waits in the lane. */
  queued: boolean;
}

/** Messages posted, edits made, and when the first words showed. */
export interface StreamStats {
  messages: number;
  edits: number;
  firstPostAt?: number;
}

/**
 * The messages one streamed turn has posted, in order, and their edits: at most one edit per
 * message waits in the lane, and it sends the latest text wanted when it goes out.
 */
export class StreamedMessages<Id> {
  private readonly messages: Shown<Id>[] = [];
  readonly stats: StreamStats = { messages: 0, edits: 0 };

  constructor(private readonly deps: { port: TurnStreamPort<Id>; clock: Clock }) {}

  get shown(): readonly Shown<Id>[] {
    return this.messages;
  }

  /** Posts a new message at the end of the turn. */
  post(part: TurnPart): Shown<Id> {
    const id = this.deps.port.create(part);
    this.stats.messages += 1;
    id.then(
      () => {
        this.stats.firstPostAt ??= this.deps.clock.now();
      },
      () => undefined,
    );
    const message: Shown<Id> = { id, part, wanted: part, queued: false };
    this.messages.push(message);
    return message;
  }

  /** Makes `message` say `part`: through the edit already waiting for it, or a new one. */
  editTo(message: Shown<Id>, part: TurnPart): Promise<void> {
    message.wanted = part;
    if (message.queued) return Promise.resolve();
    message.queued = true;
    let sent: TurnPart | undefined;
    return message.id
      .then((id) =>
        this.deps.port.edit(id, () => {
          message.queued = false;
          sent = message.wanted;
          return sent;
        }),
      )
      .then(
        () => {
          if (sent) message.part = sent;
          this.stats.edits += 1;
        },
        (error: unknown) => {
          // Not shown: the next round tries again from what the message says.
          message.queued = false;
          message.wanted = message.part;
          throw error;
        },
      );
  }

  /** Deletes `message` once it has an id. */
  remove(message: Shown<Id>): Promise<void> {
    return message.id.then((id) => this.deps.port.remove(id));
  }
}
