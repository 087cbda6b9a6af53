import { importLegacyIndex } from './legacyIndex.ts';
import type { MemoryContext } from './memoryContext.ts';
import { embedAll, embedPending } from './memoryEmbedding.ts';
import { scheduleSnapshots, takeSnapshot } from './memorySnapshots.ts';
import { markSyncStart, scheduleSync } from './memorySync.ts';
import type { RestoreOutcome } from './vectorIndex.ts';

/** The memory's start, rebuild and shutdown. */

/**
 * Loads the index (its snapshot plus the vectors stored after it, or rebuilt from the stored
 * vectors), starts the snapshot schedule, then embeds in the background the records that have
 * no vector.
 */
export async function openMemoryIndex(ctx: MemoryContext): Promise<RestoreOutcome> {
  const { deps, logger } = ctx;
  const started = deps.clock.now();
  // An index from before the vectors were stored can only be beside a SQLite log (PostgreSQL came later).
  const imported =
    deps.log.dialect === 'sqlite' ? await importLegacyIndex(deps.indexDir, deps.log.vectors, started) : 0;
  if (imported > 0)
    logger.info(
      { vectors: imported },
      'imported the vectors of an index written before they were kept in SQLite',
    );
  await markSyncStart(ctx);
  const outcome = await deps.index.restore();
  const durationMs = deps.clock.now() - started;
  if (outcome.from === 'source') {
    logger.warn({ ...outcome, durationMs }, 'memory index rebuilt from the stored vectors');
    void takeSnapshot(ctx);
  } else {
    logger.info({ ...outcome, vectors: deps.index.size, durationMs }, 'memory index loaded');
  }
  scheduleSnapshots(ctx);
  scheduleSync(ctx);
  // Records a crash or an absent model left without a vector.
  void embedPending(ctx).catch(() => undefined);
  return outcome;
}

/** Re-embeds the whole log into a fresh index (a changed embedding model); returns how many. */
export async function rebuildMemory(ctx: MemoryContext): Promise<number> {
  const { deps } = ctx;
  await ctx.ready();
  await ctx.embedding?.catch(() => undefined);
  await deps.log.vectors.clear();
  await deps.index.reset();
  ctx.embedding = embedAll(ctx, true);
  const total = await ctx.embedding;
  await deps.index.snapshot(deps.clock.now());
  return total;
}

/** Writes the index to disk now, off the event loop. */
export async function snapshotMemory(ctx: MemoryContext): Promise<void> {
  await ctx.ready();
  await ctx.deps.index.idle();
  await ctx.deps.index.snapshot(ctx.deps.clock.now());
}

/** Writes a last snapshot if anything changed, then closes the log. */
export async function closeMemory(ctx: MemoryContext): Promise<void> {
  if (ctx.closed) return;
  ctx.closed = true;
  ctx.stopSchedule?.();
  ctx.stopSync?.();
  const { deps } = ctx;
  try {
    await ctx.opening;
    await ctx.sync.running?.catch(() => undefined);
    await ctx.sync.rewriting;
    await deps.index.idle();
    if (deps.index.dirty > 0) await deps.index.snapshot(deps.clock.now());
  } catch (error) {
    ctx.logger.warn(
      { err: error },
      'could not write the memory index at shutdown; the next start replays SQLite',
    );
  } finally {
    await deps.log.close();
  }
}
