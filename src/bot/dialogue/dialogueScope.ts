import type { DialogueScope } from '../../graph/runContext.ts';
import type { ChannelAccess } from '../access/channelAccess.ts';
import type { DialogueThread } from '../posting/dialogueThread.ts';

/**
 * Where a thread's dialogue is held and what it may read: its server, its parent channel (the
 * dialogue is filed under it), the thread itself, and, in a server, the channels that everyone who can read the
 * thread can read too (recall never shows a reader what they could not open themselves); and who
 * can see it, which curation reads (only what everyone may see becomes weights, by default).
 */
export function dialogueScope(
  thread: Pick<DialogueThread, 'id' | 'guildId' | 'parentId'>,
  access?: Pick<ChannelAccess, 'sharedWith'> & Partial<Pick<ChannelAccess, 'visibilityOf'>>,
): DialogueScope {
  const readableChannels = thread.guildId ? access?.sharedWith(thread.parentId ?? thread.id) : undefined;
  const visibility = access?.visibilityOf?.(thread.id);
  return {
    guildId: thread.guildId || null,
    channelId: thread.parentId || null,
    threadId: thread.id,
    ...(readableChannels ? { readableChannels } : {}),
    ...(visibility ? { visibility } : {}),
  };
}
