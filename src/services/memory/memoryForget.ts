import { cutInValue, type Forgotten } from '../forgetting/forgotten.ts';
import type { StoredRecord } from './interactionLog.ts';
import type { MemoryContext } from './memoryContext.ts';

/**
 * `/memory forget` in the memory: the conversation's records and vectors deleted, the index's
 * snapshot on disk written again without their data, the quotes of them cut from the dialogues
 * that recalled them, and the database scrubbed (SQLite's write-ahead log emptied, PostgreSQL's
 * tables vacuumed), so that none of their words stays in the database or under `memory/`. Other
 * processes drop the vectors from their own indexes and snapshots at their next replay
 * (`memorySync.ts`).
 */

/** Removes a conversation's records and vectors, from the log, the index and its snapshot; returns the removed records. */
export async function forgetConversation(
  ctx: MemoryContext,
  conversationId: string,
): Promise<StoredRecord[]> {
  await ctx.ready();
  const removed = await ctx.deps.log.deleteConversation(conversationId);
  for (const record of removed) ctx.deps.index.remove(record.id);
  if (removed.length > 0) {
    await rewriteSnapshot(ctx);
    await ctx.deps.log.scrubDeleted(['dialogues', 'vectors']);
  }
  ctx.logger.info({ conversationId, records: removed.length }, 'conversation forgotten');
  return removed;
}

/**
 * A new snapshot now, without the removed vectors' data (`snapshotScrub.ts`), which replaces every
 * older file: those still hold them. If it cannot be written, the older files go anyway: the next
 * start rebuilds the index from the stored vectors. (Also when another process forgot: `memorySync.ts`.)
 */
export async function rewriteSnapshot(ctx: MemoryContext): Promise<void> {
  const { index, clock } = ctx.deps;
  try {
    // A write under way began before the removal: the new one must begin after it.
    await index.idle();
    await index.snapshot(clock.now());
  } catch (error) {
    ctx.logger.warn(
      { err: error },
      'could not write the memory index without the forgotten vectors; its snapshot files are removed instead',
    );
    await index.dropSnapshots();
  }
}

/** Cuts the forgotten dialogues' quotes (and verbatim copies) from the records that recalled them; returns how many changed. */
export async function forgetQuotes(ctx: MemoryContext, forgotten: Forgotten): Promise<number> {
  await ctx.ready();
  const { log } = ctx.deps;
  let changed = 0;
  for (const record of await log.recalling(forgotten.ids)) {
    const words = { task: record.task, answer: record.answer, turns: record.turns };
    const cut = cutInValue(words, forgotten);
    if (cut === words) continue;
    await log.rewrite({ id: record.id, ...cut });
    changed++;
  }
  if (changed > 0) {
    await log.scrubDeleted(['dialogues']);
    ctx.logger.info({ records: changed }, 'cut forgotten dialogues from the dialogues that recalled them');
  }
  return changed;
}
