import { findAppError } from '../errors.ts';
import type { MemoryContext } from './memoryContext.ts';
import { rewriteSnapshot } from './memoryForget.ts';
import { PAGE } from './vectorIndex.ts';

/**
 * Keeping this process's index current with what other processes stored and forgot. Each
 * process holds its own hnswlib index, a cache of the stored vectors; another shard (or the
 * terminal chat beside the bot) embeds and forgets dialogues in the same database. Before a
 * recall (at most once a second) and every few seconds, a process replays the vectors numbered
 * after the last it has seen, then the deletions (`vector_deletions`) likewise: a forgotten
 * dialogue leaves every process's index, and every snapshot on disk is written again without it.
 *
 * A replay of rows rather than PostgreSQL's LISTEN/NOTIFY: a notification reaches only a
 * listener connected when it is sent, so a process whose connection dropped for a moment would
 * miss vectors and deletions for good, and would still need this replay to catch up; SQLite has
 * no notifications at all. The replay is one indexed query per table, works on both engines, and
 * cannot miss a row, since rows are numbered and committed in order under one lock (`VectorStore`).
 */

/** A recall replays what other processes stored at most this often. */
export const SYNC_THROTTLE_MS = 1000;
/** Without recalls, a process still replays this often: a forget reaches its snapshot on disk. */
export const SYNC_EVERY_MS = 5000;

/**
 * Notes where the store stands before the index is restored from it: whatever is committed after
 * this is replayed (what the restore already read is skipped), so nothing falls between the two.
 */
export async function markSyncStart(ctx: MemoryContext): Promise<void> {
  ctx.sync.cursors = await ctx.deps.log.vectors.cursors();
  ctx.sync.lastAt = ctx.deps.clock.now();
}

/** Replays what other processes stored and forgot since the last replay, unless one ran within the throttle (`force`: now). */
export function syncIndex(ctx: MemoryContext, force = false): Promise<void> {
  const { sync } = ctx;
  if (!sync.cursors || ctx.closed) return Promise.resolve();
  if (sync.running) return sync.running;
  const now = ctx.deps.clock.now();
  if (!force && sync.lastAt !== undefined && now - sync.lastAt < SYNC_THROTTLE_MS) return Promise.resolve();
  sync.lastAt = now;
  const pass = replay(ctx, sync.cursors).finally(() => {
    if (sync.running === pass) sync.running = undefined;
  });
  sync.running = pass;
  return pass;
}

/** Replays every `SYNC_EVERY_MS` on the clock; a failure is a warning (the next one tries again). */
export function scheduleSync(ctx: MemoryContext): void {
  ctx.stopSync = ctx.deps.clock.every(SYNC_EVERY_MS, () => {
    syncIndex(ctx).catch((error: unknown) =>
      ctx.logger.warn(
        { err: error },
        'could not bring the memory index level with the database; trying again',
      ),
    );
  });
}

async function replay(ctx: MemoryContext, cursors: { vectors: number; deletions: number }): Promise<void> {
  const { index, log } = ctx.deps;
  let added = 0;
  for (let more = true; more; ) {
    const page = await log.vectors.after(cursors.vectors, PAGE);
    more = page.length === PAGE;
    for (const stored of page) {
      cursors.vectors = stored.seq;
      if (index.holds(stored.recordId, stored.seq)) continue;
      try {
        index.add(stored.seq, stored.recordId, stored.vector, stored.model);
        added++;
      } catch (error) {
        if (findAppError(error)?.code !== 'MEMORY_INDEX_MISMATCH') throw error;
        ctx.logger.warn(
          { err: error, recordId: stored.recordId },
          'another process stored a vector this index cannot hold (rebuilt with another model?): restart this process',
        );
      }
    }
  }
  let dropped = 0;
  for (let more = true; more; ) {
    const page = await log.vectors.deletionsAfter(cursors.deletions, PAGE);
    more = page.length === PAGE;
    for (const deletion of page) {
      cursors.deletions = deletion.seq;
      if (index.remove(deletion.recordId, deletion.vectorSeq)) dropped++;
    }
  }
  // A forget in another process: this process's snapshot on disk still holds the vectors' data.
  if (dropped > 0 && index.snapshotMeta) queueRewrite(ctx);
  if (added + dropped > 0)
    ctx.logger.debug({ added, dropped }, 'memory index brought level with what other processes stored');
}

/**
 * Writes the snapshot again without what another process forgot, in the background: the whole
 * file (hundreds of megabytes at 100,000 vectors) is not written while a recall waits on this
 * replay. One rewrite queued behind the one under way covers every deletion replayed meanwhile;
 * `close` waits for them.
 */
function queueRewrite(ctx: MemoryContext): void {
  const { sync } = ctx;
  if (sync.rewriteQueued) return;
  sync.rewriteQueued = true;
  const pass = (sync.rewriting ?? Promise.resolve())
    .then(() => {
      sync.rewriteQueued = false;
      return rewriteSnapshot(ctx);
    })
    .catch((error: unknown) =>
      ctx.logger.warn({ err: error }, 'could not write the memory index without vectors forgotten elsewhere'),
    )
    .finally(() => {
      if (sync.rewriting === pass) sync.rewriting = undefined;
    });
  sync.rewriting = pass;
}
