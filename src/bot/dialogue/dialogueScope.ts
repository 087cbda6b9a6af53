import type { DialogueScope } from '../../graph/runContext.ts';
import type { ChannelAccess } from '../access/channelAccess.ts';
import type { DialogueThread } from '../posting/dialogueThread.ts';

/**
 * Where a thread's dialogue is held and what it may read: its server; its place, which the
 * dialogue is filed under (a public thread's parent channel, or a private thread itself: only
 * its members may read it later); the thread; and, in a server, the places whose dialogues
 * everyone who can read the thread may read too (recall never shows a reader what they could
 * not open themselves); and who can see it, which curation reads (only what everyone may see
 * becomes weights, by default).
 */
export function dialogueScope(
  thread: Pick<DialogueThread, 'id' | 'guildId' | 'parentId' | 'private'>,
  access?: Pick<ChannelAccess, 'sharedWith'> & Partial<Pick<ChannelAccess, 'visibilityOf'>>,
): DialogueScope {
  const place = thread.private ? thread.id : thread.parentId || null;
  const readableChannels = thread.guildId ? access?.sharedWith(place ?? thread.id) : undefined;
  const visibility = access?.visibilityOf?.(thread.id);
  return {
    guildId: thread.guildId || null,
    channelId: place,
    threadId: thread.id,
    ...(readableChannels ? { readableChannels } : {}),
    ...(visibility ? { visibility } : {}),
  };
}
