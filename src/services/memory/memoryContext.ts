import type { Clock } from '../clock.ts';
import type { Embedder } from '../llm/embedder.ts';
import type { Logger } from '../logger.ts';
import type { InteractionLog } from './interactionLog.ts';
import type { RestoreOutcome, VectorIndex } from './vectorIndex.ts';

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

/** Where this process's replay of other processes' vectors and deletions stands (`memorySync.ts`). */
export interface SyncState {
  /** The last vector and deletion seen; undefined until the memory has opened. */
  cursors: { vectors: number; deletions: number } | undefined;
  lastAt: number | undefined;
  running: Promise<void> | undefined;
  /** The snapshot rewrite that another process's forget started, running or queued behind one. */
  rewriting: Promise<void> | undefined;
  /** A rewrite is queued and not begun: a later deletion is covered by it. */
  rewriteQueued: boolean;
}

export const freshSync = (): SyncState => ({
  cursors: undefined,
  lastAt: undefined,
  running: undefined,
  rewriting: undefined,
  rewriteQueued: false,
});

/** What the memory's parts share: its deps, and where it stands (opened, embedding, closed). */
export interface MemoryContext {
  readonly deps: MemoryDeps;
  /** The memory's own child logger. */
  readonly logger: Logger;
  readonly policy: SnapshotPolicy;
  /** Starts the memory on first use and returns that same start after; every other step waits for it. */
  readonly ready: () => Promise<RestoreOutcome>;
  opening: Promise<RestoreOutcome> | undefined;
  /** The embedding pass under way, if any: one at a time. */
  embedding: Promise<number> | undefined;
  closed: boolean;
  /** Stops the snapshot schedule (set once the memory is open). */
  stopSchedule: (() => void) | undefined;
  /** Where the replay of other processes' vectors and deletions stands (`memorySync.ts`). */
  readonly sync: SyncState;
  /** Stops the replay's schedule (set once the memory is open). */
  stopSync: (() => void) | undefined;
}
