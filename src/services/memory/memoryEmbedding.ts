import { findAppError } from '../errors.ts';
import type { DialogueRecord, StoredRecord } from './interactionLog.ts';
import type { MemoryContext } from './memoryContext.ts';
import { snapshotIfDue } from './memorySnapshots.ts';

/**
 * Embedding recorded dialogues into the index. A record whose embedding fails (the model is down)
 * stays queued in the log, without a vector, and is retried by the next pass.
 */

/** What is embedded for a dialogue: the question and how it was answered. */
export function memoryText(record: Pick<DialogueRecord, 'task' | 'answer'>): string {
  return `${record.task.slice(0, 2000)}\n\n${record.answer.slice(0, 2000)}`;
}

/** Embeds what is queued, joining the pass under way if there is one; returns how many were embedded. */
export function embedPending(ctx: MemoryContext): Promise<number> {
  ctx.embedding ??= embedAll(ctx, false);
  return ctx.embedding;
}

/**
 * Embeds every record without a vector. `embedding` is cleared in the same synchronous step
 * that finds nothing left, so a record appended after that check starts a new pass; and the
 * pass always awaits before that check, so it never clears `embedding` before `??=` has
 * assigned it (which left one finished pass in place for good). `strict`: a failure is thrown,
 * not logged (a rebuild must not end half done).
 */
export async function embedAll(ctx: MemoryContext, strict: boolean): Promise<number> {
  let total = 0;
  try {
    await ctx.ready();
    for (;;) {
      const batch = ctx.closed ? [] : await ctx.deps.log.pending();
      if (batch.length === 0) break;
      total += await embedRecords(ctx, batch);
    }
  } catch (error) {
    const known = findAppError(error);
    if (strict || known?.code === 'MEMORY_INDEX_MISMATCH') throw error;
    ctx.logger.warn(
      { err: error, code: known?.code },
      'embedding failed; the dialogues stay queued for later',
    );
  } finally {
    ctx.embedding = undefined;
  }
  return total;
}

async function embedRecords(ctx: MemoryContext, records: StoredRecord[]): Promise<number> {
  const { embedder, index, log } = ctx.deps;
  let done = 0;
  for (const record of records) {
    // Never held for a fine-tune's hours: the record stays queued for a later pass.
    const vector = await embedder.embed(memoryText(record), { leaveWhenHeld: true });
    // Closed meanwhile: the record stays without a vector and is embedded at the next start.
    if (ctx.closed) break;
    index.checkDimension(vector.length, embedder.model);
    const stored = await log.vectors.put(record.id, embedder.model, vector);
    if (stored) index.add(stored.seq, record.id, vector, stored.model);
    done++;
  }
  snapshotIfDue(ctx);
  return done;
}
