import type { DialogueRecord } from './interactionLog.ts';

/**
 * Where a dialogue may be read, the place recall and `/memory search` ask about: a private
 * thread is its own place (only its members can open it), any other dialogue is filed under its
 * channel (a public thread's parent). A private thread's record made before the thread was its
 * own place names the parent channel: its conversation is the thread, so that is its place.
 */
export function placeOf(
  record: Pick<DialogueRecord, 'channelId' | 'visibility' | 'conversationId'>,
): string | undefined {
  return record.visibility === 'private-thread' ? record.conversationId : record.channelId;
}
