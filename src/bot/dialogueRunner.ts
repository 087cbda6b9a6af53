import type { ThreadChannel } from 'discord.js';
import { describeToolCall, type TurnEvent } from '../graph/dialogue.ts';
import type { Runtime } from '../runtime.ts';
import type { Logger } from '../services/logger.ts';
import { describeFailure } from './failures.ts';
import { NO_MENTIONS, type PersonaPoster } from './personaPoster.ts';
import { splitMessage } from './splitMessage.ts';
import { toolCard } from './toolCard.ts';

/** Discord shows "typing…" for about 10 s; renew it a little sooner. */
const TYPING_RENEW_MS = 8_000;

export interface DialogueRunner {
  /**
   * Runs the dialogue for one human message in a thread and posts every turn as it completes.
   * Messages of one thread are answered in order; threads run side by side. Never rejects:
   * failures are said in the thread.
   */
  run(thread: ThreadChannel, message: string, meta?: { userId?: string }): Promise<void>;
  /** Threads with a run in progress or waiting. */
  readonly activeThreads: ReadonlySet<string>;
  /** Stops every run (they are checkpointed after each completed turn) and waits for them. */
  shutdown(): Promise<void>;
}

export function createDialogueRunner(deps: {
  runtime: Runtime;
  poster: PersonaPoster;
  logger: Logger;
}): DialogueRunner {
  const log = deps.logger.child({ module: 'dialogue-runner' });
  const runs = new Map<string, number>();
  const active = new Set<Promise<void>>();
  const shutdown = new AbortController();

  /** A forge turn: the new tool's card (code attached), or the forge's words. */
  async function postForgeTurn(thread: ThreadChannel, event: TurnEvent) {
    const tool =
      event.forged?.status === 'created'
        ? deps.runtime.tools.registry.get(event.forged.name, event.forged.version)
        : undefined;
    if (tool) {
      await thread.send({ ...toolCard(tool.manifest, tool.code), allowedMentions: NO_MENTIONS });
      return;
    }
    for (const part of splitMessage(`🔧 **Tool forge** — ${event.text}`)) {
      await thread.send({ content: part, allowedMentions: NO_MENTIONS });
    }
  }

  async function runOnce(thread: ThreadChannel, message: string, meta: { userId?: string }) {
    let typing: NodeJS.Timeout | undefined;
    const stopTyping = () => {
      clearInterval(typing);
      typing = undefined;
    };
    const startTyping = () => {
      stopTyping();
      const send = () => void thread.sendTyping().catch(() => undefined);
      send();
      typing = setInterval(send, TYPING_RENEW_MS);
    };
    let toldQueue = false;
    const started = Date.now();
    try {
      const events = deps.runtime.dialogue.run(
        {
          conversationId: thread.id,
          message,
          meta: {
            guildId: thread.guildId,
            ...(thread.parentId ? { channelId: thread.parentId } : {}),
            ...(meta.userId ? { userId: meta.userId } : {}),
          },
        },
        { signal: shutdown.signal },
      );
      for await (const event of events) {
        if (event.type === 'thinking') startTyping();
        else if (event.type === 'queued' && !toldQueue) {
          toldQueue = true;
          await thread.send({
            content: `⏳ Other dialogues are using the model: this one is number ${event.position} in the queue.`,
            allowedMentions: NO_MENTIONS,
          });
        } else if (event.type === 'turn') {
          stopTyping();
          if (event.persona === 'TOOL_FORGE') {
            await postForgeTurn(thread, event);
            continue;
          }
          const persona = deps.runtime.personas().get(event.persona);
          const calls = (event.toolCalls ?? []).map(
            (call) => `-# 🛠️ ${call.ok ? 'used' : 'tried'} ${describeToolCall(call, 200).replace(/\n/g, ' ')}`,
          );
          const body =
            event.dissonance === undefined
              ? event.text
              : `${event.text}\n-# dissonance: ${event.dissonance.toFixed(2)}`;
          const content = calls.length ? `${calls.join('\n')}\n${body}` : body;
          await deps.poster.post(thread, {
            displayName: persona.displayName,
            avatarUrl: persona.avatarUrl,
            content,
          });
        } else if (event.type === 'done') {
          log.info(
            {
              threadId: thread.id,
              userId: meta.userId,
              run: event.run,
              rounds: event.rounds,
              dissonance: event.dissonance,
              warnings: event.warnings.length,
              durationMs: Date.now() - started,
            },
            'dialogue finished',
          );
        }
      }
    } catch (error) {
      stopTyping();
      const text = shutdown.signal.aborted
        ? '⏹️ I was stopped mid-dialogue (a restart). What was said so far is kept: send your message again to go on.'
        : describeFailure(error, log, { threadId: thread.id });
      await thread.send({ content: text, allowedMentions: NO_MENTIONS }).catch((sendError: unknown) => {
        log.error({ threadId: thread.id, err: sendError }, 'could not report a failure in the thread');
      });
    } finally {
      stopTyping();
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
