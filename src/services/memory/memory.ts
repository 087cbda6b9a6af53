import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.ts';
import { findAppError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { Embedder } from './embedder.ts';
import type { DialogueRecord, InteractionLog, StoredRecord } from './interactionLog.ts';
import type { VectorIndex } from './vectorIndex.ts';

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
  indexBytes: number;
}

export interface Memory {
  /** Records a finished dialogue durably, then embeds it (or queues it when embedding fails). */
  record(record: Omit<DialogueRecord, 'id'>): Promise<StoredRecord>;
  /** Embeds what is queued; returns how many were embedded. */
  embedPending(): Promise<number>;
  /** The most similar past dialogues above the floor, best first. */
  recall(query: string, options?: RecallOptions): Promise<Recollection[]>;
  /** Removes a conversation's records and vectors; returns the removed records. */
  forget(conversationId: string): Promise<StoredRecord[]>;
  /** Re-embeds the whole log into a fresh index. */
  rebuild(): Promise<number>;
  records(conversationId: string): StoredRecord[];
  /** Every record after a cursor (a record's `seq`), oldest first: for jobs that keep a cursor. */
  since(cursor: number, limit?: number): StoredRecord[];
  /** Records finished within [from, to), oldest first. */
  between(from: number, to: number): StoredRecord[];
  get(id: string): StoredRecord | undefined;
  stats(): MemoryStats;
  close(): void;
}

export interface MemoryDeps {
  log: InteractionLog;
  index: VectorIndex;
  embedder: Embedder;
  logger: Logger;
  clock: Clock;
  /** Default number of recollections. */
  recallK: number;
  /** Default similarity floor, 0–1. */
  recallFloor: number;
}

/** What is embedded for a dialogue: the question and how it was answered. */
export function memoryText(record: Pick<DialogueRecord, 'task' | 'answer'>): string {
  return `${record.task.slice(0, 2000)}\n\n${record.answer.slice(0, 2000)}`;
}

export function createMemory(deps: MemoryDeps): Memory {
  const log = deps.logger.child({ module: 'memory' });
  let embedding: Promise<number> | undefined;

  async function embedRecords(records: StoredRecord[]): Promise<number> {
    let done = 0;
    for (const record of records) {
      const vector = await deps.embedder.embed(memoryText(record));
      deps.index.add(record.id, vector, deps.embedder.model);
      deps.log.setEmbedded([record.id], true);
      done++;
    }
    if (done > 0) deps.index.save();
    return done;
  }

  /** One embedding pass at a time; failures leave records queued for the next pass. */
  function embedPending(): Promise<number> {
    embedding ??= (async () => {
      let total = 0;
      try {
        for (let batch = deps.log.pending(); batch.length > 0; batch = deps.log.pending()) {
          total += await embedRecords(batch);
        }
      } catch (error) {
        const known = findAppError(error);
        log.warn({ err: error, code: known?.code }, 'embedding failed; the dialogues stay queued for later');
        if (known?.code === 'MEMORY_INDEX_MISMATCH') throw error;
      } finally {
        embedding = undefined;
      }
      return total;
    })();
    return embedding;
  }

  return {
    async record(record) {
      const stored = deps.log.append({ ...record, id: randomUUID() });
      await embedPending().catch(() => undefined);
      return stored;
    },
    embedPending,
    async recall(query, options = {}) {
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
      const removed = deps.log.deleteConversation(conversationId);
      let changed = false;
      for (const record of removed) changed = deps.index.remove(record.id) || changed;
      if (changed) deps.index.save();
      log.info({ conversationId, records: removed.length }, 'conversation forgotten');
      return removed;
    },
    async rebuild() {
      deps.index.reset();
      deps.log.resetEmbedded();
      let total = 0;
      for (let batch = deps.log.pending(); batch.length > 0; batch = deps.log.pending()) {
        total += await embedRecords(batch);
      }
      return total;
    },
    records: (conversationId) => deps.log.ofConversation(conversationId),
    since: (cursor, limit) => deps.log.since(cursor, limit),
    between: (from, to) => deps.log.between(from, to),
    get: (id) => deps.log.get(id),
    stats() {
      const { total, pending } = deps.log.count();
      return { dialogues: total, pending, vectors: deps.index.size, indexBytes: deps.index.fileBytes() };
    },
    close() {
      deps.log.close();
    },
  };
}
