import {
  type AttachmentBuilder,
  channelMention,
  DiscordAPIError,
  type EmbedBuilder,
  RESTJSONErrorCodes,
} from 'discord.js';
import type { Dialogue, TurnEvent } from '../../graph/dialogue.ts';
import { describeToolCall } from '../../graph/toolCalls.ts';
import type { Clock } from '../../services/clock.ts';
import type { Logger } from '../../services/logger.ts';
import type { Metrics } from '../../services/metrics.ts';
import type { StoredTool } from '../../services/tools/toolRegistry.ts';
import { toolCard } from '../cards/toolCard.ts';
import { describeFailure } from '../failures.ts';
import { splitMessage } from '../posting/splitMessage.ts';

/** Discord shows "typing…" for about 10 s; renew it a little sooner. */
const TYPING_RENEW_MS = 8_000;
/** A persona shows "typing…" only once it has thought this long: a quick turn needs no REST call for it. */
const TYPING_AFTER_MS = 2_000;
/** A dialogue is told its place in the model queue only if it still waits after this long. */
const QUEUE_NOTICE_AFTER_MS = 5_000;

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

export interface DialogueRunner {
  /**
   * Runs the dialogue for one human message in a thread and posts every turn as it completes.
   * Messages of one thread are answered in order; threads run side by side. Never rejects:
   * failures are said in the thread.
   */
  run(thread: DialogueThread, message: string, meta?: { userId?: string }): Promise<void>;
  /** Threads with a run in progress or waiting. */
  readonly activeThreads: ReadonlySet<string>;
  /** Stops every run (they are checkpointed after each completed turn) and waits for them. */
  shutdown(): Promise<void>;
}

export interface DialogueRunnerDeps {
  dialogue: Pick<Dialogue, 'run'>;
  /** How a persona appears in Discord: its name and avatar (from the codex in force). */
  speaker: (personaId: string) => { displayName: string; avatarUrl: string };
  /** The channels whose past dialogues a dialogue in this thread may recall (what all its readers can read). */
  recallScope?: (thread: DialogueThread) => readonly string[] | undefined;
  /** Counts dialogues and turns. */
  metrics?: Pick<Metrics, 'dialogue' | 'turn'>;
  /** A forged tool, for its card in the thread. */
  tool: (name: string, version: number) => StoredTool | undefined;
  /** Whether persona turns appear as they are written (`STREAM_TURNS`); default false. */
  streamTurns?: boolean;
  clock: Clock;
  logger: Logger;
}

export function createDialogueRunner(deps: DialogueRunnerDeps): DialogueRunner {
  const log = deps.logger.child({ module: 'dialogue-runner' });
  const runs = new Map<string, number>();
  const active = new Set<Promise<void>>();
  const shutdown = new AbortController();

  /** A forge turn: the new tool's card (code attached), or the forge's words. */
  async function postForgeTurn(thread: DialogueThread, event: TurnEvent) {
    const tool =
      event.forged?.status === 'created' ? deps.tool(event.forged.name, event.forged.version) : undefined;
    if (tool) {
      await thread.send(toolCard(tool.manifest, tool.code));
      return;
    }
    for (const part of splitMessage(`🔧 **Tool forge** — ${event.text}`))
      await thread.send({ content: part });
  }

  /** A persona's words as shown: the tools it used above, its dissonance below. */
  function turnText(event: TurnEvent): string {
    const calls = (event.toolCalls ?? []).map(
      (call) => `-# 🛠️ ${call.ok ? 'used' : 'tried'} ${describeToolCall(call, 200).replace(/\n/g, ' ')}`,
    );
    const body =
      event.dissonance === undefined
        ? event.text
        : `${event.text}\n-# dissonance: ${event.dissonance.toFixed(2)}`;
    return calls.length ? `${calls.join('\n')}\n${body}` : body;
  }

  async function runOnce(thread: DialogueThread, message: string, meta: { userId?: string }) {
    // "typing…" starts once a persona has thought TYPING_AFTER_MS, then is renewed; the queue
    // notice goes out once a model call has waited QUEUE_NOTICE_AFTER_MS, at most once a run. A
    // turn ends both. Each checks its signal when the sleep ends: a turn may have come meanwhile.
    let typing: AbortController | undefined;
    const startTyping = () => {
      if (typing) return;
      typing = new AbortController();
      const { signal } = typing;
      const send = () => void thread.typing().catch(() => undefined);
      deps.clock.sleep(TYPING_AFTER_MS, signal).then(
        () => {
          if (signal.aborted) return;
          send();
          signal.addEventListener('abort', deps.clock.every(TYPING_RENEW_MS, send), { once: true });
        },
        () => undefined,
      );
    };
    const stopTyping = () => {
      typing?.abort();
      typing = undefined;
    };
    let queueWait: AbortController | undefined;
    let toldQueue = false;
    let queueNotice: Promise<void> = Promise.resolve();
    const noticeQueueLater = (position: number, reason?: string) => {
      if (queueWait || toldQueue) return;
      queueWait = new AbortController();
      const { signal } = queueWait;
      deps.clock.sleep(QUEUE_NOTICE_AFTER_MS, signal).then(
        () => {
          if (signal.aborted) return;
          toldQueue = true;
          queueNotice = thread
            .send({
              content: reason
                ? `⏳ The model is busy ${reason}: this dialogue was number ${position} in the queue and follows when it is free.`
                : `⏳ Other dialogues are using the model: this one was number ${position} in the queue and follows as soon as it can.`,
            })
            .catch((error: unknown) =>
              log.warn({ err: error, threadId: thread.id }, 'could not post the queue notice'),
            );
        },
        () => undefined,
      );
    };
    const stopQueueWait = () => {
      queueWait?.abort();
      queueWait = undefined;
    };
    const started = deps.clock.now();
    /** The turn that is streaming now, if any. */
    let streaming: { persona: string; turn: StreamedTurn } | undefined;
    // Each run has its own signal, tied to the shutdown only while it runs: LangGraph keeps the
    // signal it is given, so the shutdown's own would collect a listener per dialogue for good.
    const run = new AbortController();
    const stopRun = () => run.abort(shutdown.signal.reason);
    shutdown.signal.addEventListener('abort', stopRun, { once: true });
    try {
      const readableChannels = deps.recallScope?.(thread);
      const events = deps.dialogue.run(
        {
          conversationId: thread.id,
          message,
          ...(meta.userId ? { userId: meta.userId } : {}),
          // The dialogue is held in the thread's parent channel.
          scope: {
            guildId: thread.guildId || null,
            channelId: thread.parentId || null,
            ...(readableChannels ? { readableChannels } : {}),
          },
        },
        { signal: run.signal, streamTurns: deps.streamTurns === true },
      );
      for await (const event of events) {
        if (event.type === 'thinking') startTyping();
        else if (event.type === 'queued') noticeQueueLater(event.position, event.reason);
        else if (event.type === 'partial') {
          if (!streaming || streaming.persona !== event.persona) {
            const turn = event.text.trim() ? thread.stream?.(deps.speaker(event.persona)) : undefined;
            if (!turn) continue;
            stopTyping();
            stopQueueWait();
            await queueNotice;
            streaming = { persona: event.persona, turn };
          }
          streaming.turn.update(event.text);
        } else if (event.type === 'turn') {
          stopTyping();
          stopQueueWait();
          await queueNotice;
          const streamed = streaming?.persona === event.persona ? streaming.turn : undefined;
          streaming = undefined;
          if (event.persona === 'TOOL_FORGE') await postForgeTurn(thread, event);
          else if (streamed) {
            await streamed.finish(turnText(event));
            log.debug(
              { threadId: thread.id, persona: event.persona, ...streamed.stats },
              'streamed turn finished',
            );
          } else await thread.speak(deps.speaker(event.persona), turnText(event));
          deps.metrics?.turn(event.persona);
        } else if (event.type === 'done') {
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
      await streaming?.turn.abandon().catch(() => undefined);
      streaming = undefined;
      deps.metrics?.dialogue(shutdown.signal.aborted ? 'stopped' : 'failed');
      stopTyping();
      stopQueueWait();
      const closed =
        error instanceof DiscordAPIError &&
        (error.code === RESTJSONErrorCodes.InvalidActionOnArchivedThread ||
          error.code === RESTJSONErrorCodes.ThreadLocked);
      const text = shutdown.signal.aborted
        ? '⏹️ I was stopped mid-dialogue (a restart). What was said so far is kept: send your message again to go on.'
        : closed
          ? `⚠️ I could not go on in ${channelMention(thread.id)}: it was archived and locked mid-dialogue. What was said so far is kept; unlock it and send your message again.`
          : describeFailure(error, log, { threadId: thread.id });
      // A thread that refuses posts (archived and locked) hears it in its channel instead.
      const told = closed
        ? false
        : await thread.send({ content: text }).then(
            () => true,
            () => false,
          );
      if (!told) {
        await thread.tellOutside(text).catch((sendError: unknown) => {
          log.error({ threadId: thread.id, err: sendError }, 'could not report a failure anywhere');
        });
      }
    } finally {
      stopTyping();
      stopQueueWait();
      shutdown.signal.removeEventListener('abort', stopRun);
    }
  }

  return {
    run(thread, message, meta = {}) {
      runs.set(thread.id, (runs.get(thread.id) ?? 0) + 1);
      const promise = runOnce(thread, message, meta).finally(() => {
        const left = (runs.get(thread.id) ?? 1) - 1;
        if (left > 0) runs.set(thread.id, left);
        else runs.delete(thread.id);
        active.delete(promise);
      });
      active.add(promise);
      return promise;
    },
    get activeThreads() {
      return new Set(runs.keys());
    },
    async shutdown() {
      shutdown.abort(new Error('shutting down'));
      await Promise.allSettled([...active]);
    },
  };
}
