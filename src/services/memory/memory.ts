import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.ts';
import { findAppError } from '../errors.ts';
import type { Embedder } from '../llm/embedder.ts';
import type { Logger } from '../logger.ts';
import type { DialogueRecord, InteractionLog, StoredRecord } from './interactionLog.ts';
import { importLegacyIndex } from './legacyIndex.ts';
import type { RestoreOutcome, VectorIndex } from './vectorIndex.ts';

/** A past dialogue brought back because it resembles the present one. */
export interface Recollection {
  conversationId: string;
  task: string;
  answer: string;
  finalDissonance: number | null;
  /** When it finished, ms since the epoch. */
  at: number;
  /** Cosine similarity to the query, 0–1. */
  similarity: number;
  guildId?: string;
  userId?: string;
}

export interface RecallOptions {
  k?: number;
  floor?: number;
  excludeConversation?: string;
  /** Only dialogues from this server (null: those from no server, such as the terminal chat). */
  guildId?: string | null;
  /**
   * Only dialogues held in these channels (a thread's parent): what the asker, or everyone who
   * can read where the answer goes, may see. Absent: no channel filter.
   */
  channelIds?: readonly string[];
}

export interface MemoryStats {
  dialogues: number;
  /** Dialogues recorded but not yet embedded (Ollama was down, say). */
  pending: number;
  vectors: number;
  /** Bytes of the index's latest snapshot on disk. */
  indexBytes: number;
  /** Vectors added or removed since that snapshot (replayed from SQLite at the next start). */
  unsnapshotted: number;
  /** When that snapshot was written, ms since the epoch. */
  snapshotAt?: number;
}

/** When the index is written to disk (always at `close` too). */
export interface SnapshotPolicy {
  /** After this many vectors added or removed since the last snapshot. */
  everyChanges: number;
  /** Every this many milliseconds (on the injected clock) when anything changed. */
  everyMs: number;
}

/**
 * A start replays at most about 1000 vectors (≈ 1.5 s of hnswlib inserts at 100,000). The clock
 * looks hourly and writes one if anything changed: a quiet bot's file is at most an hour behind,
 * and the whole file (322 MB at 100,000 vectors, about a second of a thread-pool thread) is not
 * rewritten more often than that for a trickle of dialogues.
 */
export const DEFAULT_SNAPSHOT_POLICY: SnapshotPolicy = { everyChanges: 1000, everyMs: 60 * 60_000 };

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
  /** Removes a conversation's records and vectors; returns the removed records. */
  forget(conversationId: string): Promise<StoredRecord[]>;
  /** Re-embeds the whole log into a fresh index (a changed embedding model). */
  rebuild(): Promise<number>;
  /** Writes the index to disk now, off the event loop (it is also written on a schedule). */
  snapshot(): Promise<void>;
  records(conversationId: string): StoredRecord[];
  /** Every record after a cursor (a record's `seq`), oldest first: for jobs that keep a cursor. */
  since(cursor: number, limit?: number): StoredRecord[];
  /** Records finished within [from, to), oldest first. */
  between(from: number, to: number): StoredRecord[];
  get(id: string): StoredRecord | undefined;
  stats(): MemoryStats;
  /** Writes a last snapshot if anything changed, then closes the log. */
  close(): Promise<void>;
}

export interface MemoryDeps {
  log: InteractionLog;
  /** The search index over `log.vectors`. */
  index: VectorIndex;
  embedder: Embedder;
  logger: Logger;
  clock: Clock;
  /** Default number of recollections. */
  recallK: number;
  /** Default similarity floor, 0–1. */
  recallFloor: number;
  /** Where the index's snapshot lives; an index from before the vectors table is imported from there. */
  indexDir: string;
  /** Default: `DEFAULT_SNAPSHOT_POLICY`. */
  snapshots?: Partial<SnapshotPolicy>;
}

/** What is embedded for a dialogue: the question and how it was answered. */
export function memoryText(record: Pick<DialogueRecord, 'task' | 'answer'>): string {
  return `${record.task.slice(0, 2000)}\n\n${record.answer.slice(0, 2000)}`;
}

export function createMemory(deps: MemoryDeps): Memory {
  const log = deps.logger.child({ module: 'memory' });
  const policy = { ...DEFAULT_SNAPSHOT_POLICY, ...deps.snapshots };
  let opening: Promise<RestoreOutcome> | undefined;
  let embedding: Promise<number> | undefined;
  let closed = false;
  let stopSchedule: (() => void) | undefined;

  const ready = () => (opening ??= open());

  async function open(): Promise<RestoreOutcome> {
    const started = deps.clock.now();
    const imported = await importLegacyIndex(deps.indexDir, deps.log.vectors, started);
    if (imported > 0)
      log.info(
        { vectors: imported },
        'imported the vectors of an index written before they were kept in SQLite',
      );
    const outcome = await deps.index.restore();
    const durationMs = deps.clock.now() - started;
    if (outcome.from === 'source') {
      log.warn({ ...outcome, durationMs }, 'memory index rebuilt from the stored vectors');
      void takeSnapshot();
    } else {
      log.info({ ...outcome, vectors: deps.index.size, durationMs }, 'memory index loaded');
    }
    stopSchedule = deps.clock.every(policy.everyMs, () => {
      if (deps.index.dirty > 0) void takeSnapshot();
    });
    // Records a crash or an absent model left without a vector.
    void embedPending().catch(() => undefined);
    return outcome;
  }

  function takeSnapshot(): Promise<void> {
    if (closed) return Promise.resolve();
    return deps.index.snapshot(deps.clock.now()).then(
      (meta) => {
        if (meta) log.debug({ lastSeq: meta.lastSeq, vectors: meta.live }, 'memory index snapshot written');
      },
      (error: unknown) =>
        log.warn({ err: error }, 'could not write the memory index snapshot; the vectors are safe in SQLite'),
    );
  }

  async function embedRecords(records: StoredRecord[]): Promise<number> {
    let done = 0;
    for (const record of records) {
      const vector = await deps.embedder.embed(memoryText(record));
      // Closed meanwhile: the record stays without a vector and is embedded at the next start.
      if (closed) break;
      deps.index.checkDimension(vector.length, deps.embedder.model);
      const stored = deps.log.vectors.put(record.id, deps.embedder.model, vector);
      if (stored) deps.index.add(stored.seq, record.id, vector, stored.model);
      done++;
    }
    if (deps.index.dirty >= policy.everyChanges) void takeSnapshot();
    return done;
  }

  /**
   * Embeds every record without a vector. `embedding` is cleared in the same synchronous step
   * that finds nothing left, so a record appended after that check starts a new pass; and the
   * pass always awaits before that check, so it never clears `embedding` before `??=` has
   * assigned it (which left one finished pass in place for good).
   */
  async function embedAll(strict: boolean): Promise<number> {
    let total = 0;
    try {
      await ready();
      for (;;) {
        const batch = closed ? [] : deps.log.pending();
        if (batch.length === 0) break;
        total += await embedRecords(batch);
      }
    } catch (error) {
      const known = findAppError(error);
      if (strict || known?.code === 'MEMORY_INDEX_MISMATCH') throw error;
      log.warn({ err: error, code: known?.code }, 'embedding failed; the dialogues stay queued for later');
    } finally {
      embedding = undefined;
    }
    return total;
  }

  function embedPending(): Promise<number> {
    embedding ??= embedAll(false);
    return embedding;
  }

  return {
    open: ready,
    async record(record) {
      const stored = deps.log.append({ ...record, id: randomUUID() });
      await embedPending().catch(() => undefined);
      return stored;
    },
    embedPending,
    prefetch(text) {
      const query = text.trim();
      if (closed || !query || deps.recallK <= 0 || deps.index.size === 0) return;
      // The embedder keeps the vector for the recall that follows (its `reuse` cache).
      deps.embedder.embed(query, { reuse: true }).catch(() => undefined);
    },
    async recall(query, options = {}) {
      await ready();
      if (deps.index.size === 0) return [];
      const k = options.k ?? deps.recallK;
      const floor = options.floor ?? deps.recallFloor;
      const vector = await deps.embedder.embed(query, { reuse: true });
      const hits = deps.index.search(vector, k * 4 + 8, deps.embedder.model);
      const found: Recollection[] = [];
      for (const hit of hits) {
        if (hit.similarity < floor) continue;
        const record = deps.log.get(hit.id);
        if (!record || record.conversationId === options.excludeConversation) continue;
        if (options.guildId !== undefined && (record.guildId ?? null) !== options.guildId) continue;
        if (options.channelIds && !(record.channelId && options.channelIds.includes(record.channelId)))
          continue;
        found.push({
          ...(record.guildId ? { guildId: record.guildId } : {}),
          ...(record.userId ? { userId: record.userId } : {}),
          conversationId: record.conversationId,
          task: record.task,
          answer: record.answer,
          finalDissonance: record.finalDissonance,
          at: record.finishedAt,
          similarity: hit.similarity,
        });
        if (found.length >= k) break;
      }
      return found;
    },
    async forget(conversationId) {
      await ready();
      const removed = deps.log.deleteConversation(conversationId);
      for (const record of removed) deps.index.remove(record.id);
      log.info({ conversationId, records: removed.length }, 'conversation forgotten');
      return removed;
    },
    async rebuild() {
      await ready();
      await embedding?.catch(() => undefined);
      deps.log.vectors.clear();
      await deps.index.reset();
      embedding = embedAll(true);
      const total = await embedding;
      await deps.index.snapshot(deps.clock.now());
      return total;
    },
    async snapshot() {
      await ready();
      await deps.index.idle();
      await deps.index.snapshot(deps.clock.now());
    },
    records: (conversationId) => deps.log.ofConversation(conversationId),
    since: (cursor, limit) => deps.log.since(cursor, limit),
    between: (from, to) => deps.log.between(from, to),
    get: (id) => deps.log.get(id),
    stats() {
      const { total, pending } = deps.log.count();
      const meta = deps.index.snapshotMeta;
      return {
        dialogues: total,
        pending,
        vectors: deps.index.size,
        indexBytes: deps.index.fileBytes(),
        unsnapshotted: deps.index.dirty,
        ...(meta ? { snapshotAt: meta.writtenAt } : {}),
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      stopSchedule?.();
      try {
        await opening;
        await deps.index.idle();
        if (deps.index.dirty > 0) await deps.index.snapshot(deps.clock.now());
      } catch (error) {
        log.warn(
          { err: error },
          'could not write the memory index at shutdown; the next start replays SQLite',
        );
      } finally {
        deps.log.close();
      }
    },
  };
}
