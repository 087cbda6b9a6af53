import { randomUUID } from 'node:crypto';
import type { Forgotten } from '../forgetting/forgotten.ts';
import type { DialogueRecord, StoredRecord } from './interactionLog.ts';
import { DEFAULT_SNAPSHOT_POLICY, freshSync, type MemoryContext, type MemoryDeps } from './memoryContext.ts';
import { embedPending } from './memoryEmbedding.ts';
import { forgetConversation, forgetQuotes } from './memoryForget.ts';
import { closeMemory, openMemoryIndex, rebuildMemory, snapshotMemory } from './memoryLifecycle.ts';
import { prefetchRecall, type RecallOptions, type Recollection, recallDialogues } from './memoryRecall.ts';
import { syncIndex } from './memorySync.ts';
import type { RestoreOutcome } from './vectorIndex.ts';

/**
 * The memory of past dialogues: each finished dialogue is recorded in the interaction log, then
 * embedded into the vector index (`memoryEmbedding.ts`) that recall searches (`memoryRecall.ts`);
 * the index is loaded at start and written to disk now and then (`memoryLifecycle.ts`,
 * `memorySnapshots.ts`). `openMemory.ts` wires it on a data folder.
 */

export {
  DEFAULT_SNAPSHOT_POLICY,
  type MemoryDeps,
  type SnapshotPolicy,
} from './memoryContext.ts';
export { memoryText } from './memoryEmbedding.ts';
export type { RecallOptions, Recollection } from './memoryRecall.ts';

export interface MemoryStats {
  dialogues: number;
  /** Dialogues recorded but not yet embedded (Ollama was down, say). */
  pending: number;
  vectors: number;
  /** Bytes of the index's latest snapshot on disk. */
  indexBytes: number;
  /** Vectors added or removed since that snapshot (replayed from the database at the next start). */
  unsnapshotted: number;
  /** When that snapshot was written, ms since the epoch. */
  snapshotAt?: number;
}

export interface Memory {
  /**
   * Loads the index (its snapshot plus the vectors stored after it, or rebuilt from the stored
   * vectors), then embeds in the background the records that have no vector. Every other method
   * waits for it; calling it again returns the same start.
   */
  open(): Promise<RestoreOutcome>;
  /** Records a finished dialogue durably, then embeds it (or queues it when embedding fails). */
  record(record: Omit<DialogueRecord, 'id'>): Promise<StoredRecord>;
  /** Embeds what is queued; returns how many were embedded. */
  embedPending(): Promise<number>;
  /**
   * Starts embedding a task that is about to be recalled (as its message arrives), so that
   * `recall` finds the vector ready. Does nothing when recall is off or nothing is remembered.
   */
  prefetch(text: string): void;
  /** The most similar past dialogues above the floor, best first. */
  recall(query: string, options?: RecallOptions): Promise<Recollection[]>;
  /**
   * Removes a conversation's records and vectors, and writes the index's snapshot again without
   * them (`memoryForget.ts`); returns the removed records.
   */
  forget(conversationId: string): Promise<StoredRecord[]>;
  /** Cuts forgotten dialogues' quotes from the records of the dialogues that recalled them; returns how many changed. */
  forgetQuotes(forgotten: Forgotten): Promise<number>;
  /** Re-embeds the whole log into a fresh index (a changed embedding model). */
  rebuild(): Promise<number>;
  /** Writes the index to disk now, off the event loop (it is also written on a schedule). */
  snapshot(): Promise<void>;
  records(conversationId: string): Promise<StoredRecord[]>;
  /** Every record after a cursor (a record's `seq`), oldest first: for jobs that keep a cursor. */
  since(cursor: number, limit?: number): Promise<StoredRecord[]>;
  /** Records finished within [from, to), oldest first. */
  between(from: number, to: number): Promise<StoredRecord[]>;
  get(id: string): Promise<StoredRecord | undefined>;
  stats(): Promise<MemoryStats>;
  /** Whether its database is still open (for `/healthz`). */
  readonly answering: boolean;
  /** Writes a last snapshot if anything changed, then closes the log. */
  close(): Promise<void>;
}

export function createMemory(deps: MemoryDeps): Memory {
  const ctx: MemoryContext = {
    deps,
    logger: deps.logger.child({ module: 'memory' }),
    policy: { ...DEFAULT_SNAPSHOT_POLICY, ...deps.snapshots },
    ready: () => (ctx.opening ??= openMemoryIndex(ctx)),
    opening: undefined,
    embedding: undefined,
    closed: false,
    stopSchedule: undefined,
    sync: freshSync(),
    stopSync: undefined,
  };
  return {
    open: ctx.ready,
    record: (record) => recordDialogue(ctx, record),
    embedPending: () => embedPending(ctx),
    prefetch(text) {
      if (!ctx.closed) prefetchRecall(deps, text);
    },
    async recall(query, options = {}) {
      await ctx.ready();
      // What other processes stored or forgot since (at most once a second): see memorySync.ts.
      await syncIndex(ctx).catch((error: unknown) =>
        ctx.logger.warn({ err: error }, 'could not bring the memory index level with the database'),
      );
      return recallDialogues(deps, query, options);
    },
    forget: (conversationId) => forgetConversation(ctx, conversationId),
    forgetQuotes: (forgotten) => forgetQuotes(ctx, forgotten),
    rebuild: () => rebuildMemory(ctx),
    snapshot: () => snapshotMemory(ctx),
    records: (conversationId) => deps.log.ofConversation(conversationId),
    since: (cursor, limit) => deps.log.since(cursor, limit),
    between: (from, to) => deps.log.between(from, to),
    get: (id) => deps.log.get(id),
    stats: () => memoryStats(deps),
    get answering() {
      return deps.log.open;
    },
    close: () => closeMemory(ctx),
  };
}

async function recordDialogue(ctx: MemoryContext, record: Omit<DialogueRecord, 'id'>): Promise<StoredRecord> {
  const stored = await ctx.deps.log.append({ ...record, id: randomUUID() });
  await embedPending(ctx).catch(() => undefined);
  return stored;
}

async function memoryStats(deps: MemoryDeps): Promise<MemoryStats> {
  const { total, pending } = await deps.log.count();
  const meta = deps.index.snapshotMeta;
  return {
    dialogues: total,
    pending,
    vectors: deps.index.size,
    indexBytes: deps.index.fileBytes(),
    unsnapshotted: deps.index.dirty,
    ...(meta ? { snapshotAt: meta.writtenAt } : {}),
  };
}
