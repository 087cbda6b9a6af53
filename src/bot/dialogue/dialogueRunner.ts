import type { Dialogue, DialogueEvent } from '../../graph/dialogue.ts';
import type { Clock } from '../../services/clock.ts';
import type { ReactionStore } from '../../services/curation/reactions.ts';
import type { Logger } from '../../services/logger.ts';
import type { Metrics } from '../../services/metrics.ts';
import type { StoredTool } from '../../services/tools/toolRegistry.ts';
import { createKeyedLock } from '../../shared/concurrency.ts';
import type { ChannelAccess } from '../access/channelAccess.ts';
import type { DialogueThread, StreamedTurn } from '../posting/dialogueThread.ts';
import type { Continuity } from './continuity.ts';
import { dialogueScope } from './dialogueScope.ts';
import { RunIndicators } from './runIndicators.ts';
import { postForgeTurn, reportStop, turnText } from './turnPosts.ts';

export type { BotPost, DialogueThread, StreamedTurn } from '../posting/dialogueThread.ts';

/** One human message of a thread, to be answered by a dialogue. */
export interface ThreadMessage {
  thread: DialogueThread;
  message: string;
  meta?: { userId?: string };
}

/** A queued entry once its turn came and it was prepared: the caller's result, and the message to answer, if any. */
export interface Prepared<T> {
  result: T;
  dialogue?: ThreadMessage;
}

export interface DialogueRunner {
  /**
   * Queues a dialogue for one human message in a thread and posts every turn as it completes;
   * settles when it ends. Never rejects: failures are said in the thread.
   */
  run(thread: DialogueThread, message: string, meta?: { userId?: string }): Promise<void>;
  /**
   * The thread's queue, for work that must come before its dialogue in the same order (opening
   * the thread, reading the task): `prepare` runs once every earlier entry under `key` (a
   * thread id, or the id of the message a thread will be opened on) has ended, then the dialogue
   * it returns runs. `prepared` settles with its result (or its error); `done` when all is over.
   */
  enqueue<T>(key: string, prepare: () => Promise<Prepared<T>>): { prepared: Promise<T>; done: Promise<void> };
  /** Threads with a run in progress or waiting. */
  readonly activeThreads: ReadonlySet<string>;
  /** Stops every run (they are checkpointed after each completed turn) and waits for them. */
  shutdown(): Promise<void>;
}

/** How a persona appears in a thread. */
export interface Speaker {
  displayName: string;
  avatarUrl: string;
}

export interface DialogueRunnerDeps {
  dialogue: Pick<Dialogue, 'run'>;
  /** The personas in force: how each appears in Discord, its name and avatar (the codex may change). */
  personas: () => { get(personaId: string): Speaker };
  /**
   * Who can read which channel: a dialogue recalls only what all its thread's readers can read,
   * and its record keeps who could see it (for curation).
   */
  access?: Pick<ChannelAccess, 'sharedWith'> & Partial<Pick<ChannelAccess, 'visibilityOf'>>;
  /** Counts dialogues and turns. */
  metrics?: Pick<Metrics, 'dialogue' | 'turn'>;
  /** A forged tool, for its card in the thread. */
  tool: (name: string, version: number) => StoredTool | undefined;
  /** Remembers which threads have a dialogue running, so a crash is noticed at the next start. */
  continuity?: Pick<Continuity, 'runStarted' | 'runEnded'>;
  /** Whether persona turns appear as they are written (`STREAM_TURNS`); default false. */
  streamTurns?: boolean;
  /** Remembers which messages are which persona turn, so people's reactions to them count. */
  turnPosts?: Pick<ReactionStore, 'recordTurn'>;
  clock: Clock;
  logger: Logger;
}

/**
 * The one queue that keeps a thread in order: every message of a thread, and the opening of a
 * new thread before its first dialogue, waits for what came before it in that thread; threads
 * run side by side. (The graph does not order runs itself: like LangGraph's server, the caller
 * owns a conversation's order.)
 */
export function createDialogueRunner(deps: DialogueRunnerDeps): DialogueRunner {
  const log = deps.logger.child({ module: 'dialogue-runner' });
  const queue = createKeyedLock();
  /** Entries queued or running, by key. */
  const entries = new Map<string, number>();
  const active = new Set<Promise<void>>();
  const shutdown = new AbortController();
  const context: RunContext = { deps, log, shutdown: shutdown.signal, running: new Set() };

  function enqueue<T>(key: string, prepare: () => Promise<Prepared<T>>) {
    entries.set(key, (entries.get(key) ?? 0) + 1);
    let settle!: { resolve: (value: T) => void; reject: (error: unknown) => void };
    const prepared = new Promise<T>((resolve, reject) => {
      settle = { resolve, reject };
    });
    const done = queue
      .run(key, async () => {
        let next: Prepared<T>;
        try {
          next = await prepare();
        } catch (error) {
          settle.reject(error);
          return;
        }
        settle.resolve(next.result);
        if (next.dialogue) await runTracked(context, next.dialogue);
      })
      .finally(() => {
        const left = (entries.get(key) ?? 1) - 1;
        if (left > 0) entries.set(key, left);
        else entries.delete(key);
        active.delete(done);
      });
    active.add(done);
    return { prepared, done };
  }

  return {
    run(thread, message, meta = {}) {
      return enqueue(thread.id, async () => ({ result: undefined, dialogue: { thread, message, meta } }))
        .done;
    },
    enqueue,
    get activeThreads() {
      return new Set(entries.keys());
    },
    async shutdown() {
      shutdown.abort(new Error('shutting down'));
      for (const run of context.running) run.abort(shutdown.signal.reason);
      await Promise.allSettled([...active]);
    },
  };
}

interface RunContext {
  deps: DialogueRunnerDeps;
  log: Logger;
  /** Aborted when the bot shuts down. */
  shutdown: AbortSignal;
  /** The signals of the runs under way, aborted at shutdown. */
  running: Set<AbortController>;
}

/** A dialogue, remembered as running until it ends, so a crash is noticed at the next start. */
async function runTracked(context: RunContext, entry: ThreadMessage): Promise<void> {
  const { continuity } = context.deps;
  const id = entry.thread.id;
  await continuity?.runStarted(id);
  try {
    await runOnce(context, entry.thread, entry.message, entry.meta ?? {});
  } finally {
    await continuity?.runEnded(id);
  }
}

/** Runs one dialogue and shows it in the thread as it happens. Never rejects. */
async function runOnce(
  { deps, log, shutdown, running }: RunContext,
  thread: DialogueThread,
  message: string,
  meta: { userId?: string },
): Promise<void> {
  const indicators = new RunIndicators(thread, deps.clock, log);
  const shown = new TurnDisplay(thread, deps);
  const started = deps.clock.now();
  // Each run has its own signal, which the shutdown aborts while the run is under way: LangGraph
  // keeps the signal it is given, so a shared one would collect a listener per dialogue for good
  // (and one listener per running dialogue on the shutdown's signal, which a busy server of more
  // than ten threads would report as a leak).
  const run = new AbortController();
  running.add(run);
  try {
    // Queued behind a run when the bot began to stop: it is told so, like the runs it stopped.
    if (shutdown.aborted) throw shutdown.reason;
    const events = deps.dialogue.run(
      {
        conversationId: thread.id,
        message,
        ...(meta.userId ? { userId: meta.userId } : {}),
        scope: dialogueScope(thread, deps.access),
      },
      { signal: run.signal, streamTurns: deps.streamTurns === true },
    );
    for await (const event of events) {
      if (event.type === 'thinking') indicators.thinking();
      else if (event.type === 'queued') indicators.queued(event.position, event.reason);
      else if (event.type === 'partial') await shown.partial(event, indicators);
      else if (event.type === 'turn') await shown.turn(event, indicators);
      else if (event.type === 'done') {
        deps.metrics?.dialogue('done');
        log.info(
          {
            threadId: thread.id,
            userId: meta.userId,
            run: event.run,
            rounds: event.rounds,
            dissonance: event.dissonance,
            warnings: event.warnings.length,
            durationMs: deps.clock.now() - started,
          },
          'dialogue finished',
        );
      }
    }
  } catch (error) {
    // Words already shown stay, marked as broken off.
    await shown.abandon();
    deps.metrics?.dialogue(shutdown.aborted ? 'stopped' : 'failed');
    indicators.stop();
    await reportStop(thread, error, { shuttingDown: shutdown.aborted, log });
  } finally {
    indicators.stop();
    running.delete(run);
  }
}

type PartialEvent = Extract<DialogueEvent, { type: 'partial' }>;
type TurnEvent = Extract<DialogueEvent, { type: 'turn' }>;

/** The persona turns of one run as the thread shows them: streamed as they are written, or posted whole. */
class TurnDisplay {
  /** The turn that is streaming now, if any. */
  private streaming: { persona: string; turn: StreamedTurn } | undefined;

  constructor(
    private readonly thread: DialogueThread,
    private readonly deps: Pick<
      DialogueRunnerDeps,
      'personas' | 'tool' | 'metrics' | 'turnPosts' | 'clock' | 'logger'
    >,
  ) {}

  async partial(event: PartialEvent, indicators: RunIndicators): Promise<void> {
    if (!this.streaming || this.streaming.persona !== event.persona) {
      const turn = event.text.trim()
        ? this.thread.stream?.(this.deps.personas().get(event.persona))
        : undefined;
      if (!turn) return;
      await indicators.turnArrives();
      this.streaming = { persona: event.persona, turn };
    }
    this.streaming.turn.update(event.text);
  }

  async turn(event: TurnEvent, indicators: RunIndicators): Promise<void> {
    await indicators.turnArrives();
    const streamed = this.streaming?.persona === event.persona ? this.streaming.turn : undefined;
    this.streaming = undefined;
    if (event.persona === 'TOOL_FORGE') await postForgeTurn(this.thread, event, this.deps.tool);
    else if (streamed) {
      await this.posted(event, await streamed.finish(turnText(event)));
      this.deps.logger.debug(
        { threadId: this.thread.id, persona: event.persona, ...streamed.stats },
        'streamed turn finished',
      );
    } else
      await this.posted(
        event,
        await this.thread.speak(this.deps.personas().get(event.persona), turnText(event)),
      );
    this.deps.metrics?.turn(event.persona);
  }

  /** Remembers which turn the messages are; a failure to is logged, never the dialogue's. */
  private async posted(event: TurnEvent, messageIds: string[]): Promise<void> {
    const { turnPosts, clock, logger } = this.deps;
    if (!turnPosts || messageIds.length === 0) return;
    try {
      await turnPosts.recordTurn({
        conversationId: this.thread.id,
        run: event.run,
        persona: event.persona,
        turn: event.turn,
        messageIds,
        at: clock.now(),
      });
    } catch (error) {
      logger.warn({ err: error, threadId: this.thread.id }, 'could not remember which turn a post is');
    }
  }

  /** The run broke off: a turn that was streaming keeps its words, marked as broken off. */
  async abandon(): Promise<void> {
    await this.streaming?.turn.abandon().catch(() => undefined);
    this.streaming = undefined;
  }
}
