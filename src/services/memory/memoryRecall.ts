import { placeOf } from './dialoguePlace.ts';
import type { MemoryDeps } from './memoryContext.ts';

/** Bringing back past dialogues that resemble the present one. */

/** A past dialogue brought back because it resembles the present one. */
export interface Recollection {
  /** Its record in the interaction log. */
  id: string;
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
   * Only dialogues held in these places (a channel, a private thread; see `placeOf`): what
   * everyone who can read where the answer goes may see. Absent: no such filter.
   */
  channelIds?: readonly string[];
  /** Only dialogues held in places this accepts (one member's reading rights). Absent: no such filter. */
  readable?: (place: string) => boolean | Promise<boolean>;
}

type RecallDeps = Pick<MemoryDeps, 'log' | 'index' | 'embedder' | 'recallK' | 'recallFloor'>;

/**
 * Starts embedding a task that is about to be recalled, so that the recall finds the vector
 * ready. Does nothing when recall is off or nothing is remembered.
 */
export function prefetchRecall(deps: RecallDeps, text: string): void {
  const query = text.trim();
  if (!query || deps.recallK <= 0 || deps.index.size === 0) return;
  // The embedder keeps the vector for the recall that follows (its `reuse` cache).
  deps.embedder.embed(query, { reuse: true }).catch(() => undefined);
}

/** The most similar past dialogues above the floor that the options allow, best first. */
export async function recallDialogues(
  deps: RecallDeps,
  query: string,
  options: RecallOptions,
): Promise<Recollection[]> {
  if (deps.index.size === 0) return [];
  const k = options.k ?? deps.recallK;
  const floor = options.floor ?? deps.recallFloor;
  const vector = await deps.embedder.embed(query, { reuse: true });
  // More than k: some hits are filtered out below.
  const hits = deps.index
    .search(vector, k * 4 + 8, deps.embedder.model)
    .filter((hit) => hit.similarity >= floor);
  // One query for every hit, not one per hit: a recall is on every dialogue's way.
  const records = await deps.log.recollections(hits.map((hit) => hit.id));
  const found: Recollection[] = [];
  for (const hit of hits) {
    const record = records.get(hit.id);
    if (!record || record.conversationId === options.excludeConversation) continue;
    if (options.guildId !== undefined && (record.guildId ?? null) !== options.guildId) continue;
    const place = placeOf(record);
    if (options.channelIds && !(place && options.channelIds.includes(place))) continue;
    if (options.readable && !(place && (await options.readable(place)))) continue;
    found.push({
      ...(record.guildId ? { guildId: record.guildId } : {}),
      ...(record.userId ? { userId: record.userId } : {}),
      id: record.id,
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
}
