import type { MemoryContext } from './memoryContext.ts';

/**
 * Writing the index's snapshot in the background: on a schedule, after enough changes, and after
 * a rebuild. A failed write is only a warning: the vectors are safe in SQLite.
 */

/** Writes a snapshot unless the memory is closed; never rejects. */
export function takeSnapshot(ctx: MemoryContext): Promise<void> {
  if (ctx.closed) return Promise.resolve();
  return ctx.deps.index.snapshot(ctx.deps.clock.now()).then(
    (meta) => {
      if (meta)
        ctx.logger.debug({ lastSeq: meta.lastSeq, vectors: meta.live }, 'memory index snapshot written');
    },
    (error: unknown) =>
      ctx.logger.warn(
        { err: error },
        'could not write the memory index snapshot; the vectors are safe in SQLite',
      ),
  );
}

/** Looks every `policy.everyMs` on the clock and writes a snapshot when anything changed. */
export function scheduleSnapshots(ctx: MemoryContext): void {
  ctx.stopSchedule = ctx.deps.clock.every(ctx.policy.everyMs, () => {
    if (ctx.deps.index.dirty > 0) void takeSnapshot(ctx);
  });
}

/** Writes a snapshot in the background when enough has changed since the last one. */
export function snapshotIfDue(ctx: MemoryContext): void {
  if (ctx.deps.index.dirty >= ctx.policy.everyChanges) void takeSnapshot(ctx);
}
