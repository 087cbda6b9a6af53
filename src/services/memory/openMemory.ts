import { join } from 'node:path';
import type { Clock } from '../clock.ts';
import type { Embedder } from '../llm/embedder.ts';
import type { Logger } from '../logger.ts';
import { type ShardingConfig, shardsOfThisProcess } from '../shardingConfig.ts';
import { InteractionLog } from './interactionLog.ts';
import { createMemory, type Memory, type SnapshotPolicy } from './memory.ts';
import { snapshotSource } from './snapshotRecord.ts';
import { VectorIndex } from './vectorIndex.ts';

export interface OpenMemoryOptions {
  /** The data folder: the log is `memory.sqlite` there (without `databaseUrl`), the index's snapshots are under `memory/`. */
  dataDir: string;
  /** `DATABASE_URL`: the log and the vectors in PostgreSQL (schema `batos_memory`), shared by every process. */
  databaseUrl?: string | undefined;
  /** Told of a PostgreSQL connection that failed while idle. */
  onError?: (error: Error) => void;
  /**
   * Which of several processes sharing `DATA_DIR` this is (`shards-0-2`): its snapshots go under
   * `memory/<scope>/`, so two processes never write or remove each other's files. None for one process.
   */
  scope?: string | undefined;
  embedder: Embedder;
  logger: Logger;
  clock: Clock;
  /** Default number of recollections. */
  recallK: number;
  /** Default similarity floor, 0–1. */
  recallFloor: number;
  /** Default: `DEFAULT_SNAPSHOT_POLICY`. */
  snapshots?: Partial<SnapshotPolicy>;
}

export interface OpenedMemory {
  memory: Memory;
  /** The interaction log under the memory (`memory.close()` closes it). */
  log: InteractionLog;
}

/** This process's `scope` among several shard processes (`shards-0-2`); none for one process. */
export const memoryScope = (config: Pick<ShardingConfig, 'shardCount' | 'shards'>): string | undefined =>
  config.shardCount > 1 ? `shards-${shardsOfThisProcess(config).join('-')}` : undefined;

/**
 * Opens the interaction log and the vector index, as the bot does: the index's snapshot plus the
 * vectors stored after it (or rebuilt from the stored vectors, never by the model); records left
 * without a vector are embedded in the background. A start that fails closes the log again.
 *
 * The index and its snapshots are this process's cache on its own disk, whichever database
 * holds the vectors: the snapshot's record names this folder's file (`snapshotRecord.ts`).
 */
export async function openMemory(options: OpenMemoryOptions): Promise<OpenedMemory> {
  const dir = options.scope
    ? join(options.dataDir, 'memory', options.scope)
    : join(options.dataDir, 'memory');
  const log = await InteractionLog.open({
    dataDir: options.dataDir,
    ...(options.databaseUrl ? { databaseUrl: options.databaseUrl } : {}),
    ...(options.onError ? { onError: options.onError } : {}),
  });
  const source = snapshotSource(log.vectors, { dialect: log.dialect, dir, scope: options.scope });
  const memory = createMemory({
    log,
    index: new VectorIndex({ dir, source }),
    indexDir: dir,
    embedder: options.embedder,
    logger: options.logger,
    clock: options.clock,
    recallK: options.recallK,
    recallFloor: options.recallFloor,
    ...(options.snapshots ? { snapshots: options.snapshots } : {}),
  });
  try {
    await memory.open();
  } catch (error) {
    await log.close();
    throw error;
  }
  return { memory, log };
}
