import { channelMention, DiscordAPIError, RESTJSONErrorCodes } from 'discord.js';
import type { TurnEvent } from '../../graph/dialogue.ts';
import { describeToolCall } from '../../graph/toolCalls.ts';
import type { Logger } from '../../services/logger.ts';
import type { StoredTool } from '../../services/tools/toolRegistry.ts';
import { toolCard } from '../cards/toolCard.ts';
import { describeFailure } from '../failures.ts';
import type { DialogueThread } from '../posting/dialogueThread.ts';
import { splitMessage } from '../posting/splitMessage.ts';

/** A persona's words as shown: the tools it used above, its dissonance below. */
export function turnText(event: TurnEvent): string {
  const calls = (event.toolCalls ?? []).map(
    (call) => `-# 🛠️ ${call.ok ? 'used' : 'tried'} ${describeToolCall(call, 200).replace(/\n/g, ' ')}`,
  );
  const body =
    event.dissonance === undefined
      ? event.text
      : `${event.text}\n-# dissonance: ${event.dissonance.toFixed(2)}`;
  return calls.length ? `${calls.join('\n')}\n${body}` : body;
}

/** A forge turn: the new tool's card (code attached), or the forge's words. */
export async function postForgeTurn(
  thread: Pick<DialogueThread, 'send'>,
  event: TurnEvent,
  tool: (name: string, version: number) => StoredTool | undefined,
): Promise<void> {
  const created =
    event.forged?.status === 'created' ? tool(event.forged.name, event.forged.version) : undefined;
  if (created) {
    await thread.send(toolCard(created.manifest, created.code));
    return;
  }
  for (const part of splitMessage(`🔧 **Tool forge** — ${event.text}`)) await thread.send({ content: part });
}

/**
 * Says in the thread why its dialogue stopped: a restart, a thread archived and locked under it
 * (said in its channel, since the thread refuses posts), or the failure in words. Never rejects.
 */
export async function reportStop(
  thread: DialogueThread,
  error: unknown,
  deps: { shuttingDown: boolean; log: Logger },
): Promise<void> {
  const closed =
    error instanceof DiscordAPIError &&
    (error.code === RESTJSONErrorCodes.InvalidActionOnArchivedThread ||
      error.code === RESTJSONErrorCodes.ThreadLocked);
  const text = deps.shuttingDown
    ? '⏹️ I was stopped mid-dialogue (a restart). What was said so far is kept: send your message again to go on.'
    : closed
      ? `⚠️ I could not go on in ${channelMention(thread.id)}: it was archived and locked mid-dialogue. What was said so far is kept; unlock it and send your message again.`
      : describeFailure(error, deps.log, { threadId: thread.id });
  const told = closed
    ? false
    : await thread.send({ content: text }).then(
        () => true,
        () => false,
      );
  if (!told) {
    await thread.tellOutside(text).catch((sendError: unknown) => {
      deps.log.error({ threadId: thread.id, err: sendError }, 'could not report a failure anywhere');
    });
  }
}
