import { join } from 'node:path';
import type { Clock } from '../clock.ts';
import type { Embedder } from '../llm/embedder.ts';
import type { Logger } from '../logger.ts';
import { InteractionLog } from './interactionLog.ts';
import { createMemory, type Memory, type SnapshotPolicy } from './memory.ts';
import { VectorIndex } from './vectorIndex.ts';

export interface OpenMemoryOptions {
  /** The data folder: the log is `memory.sqlite` there, the index's snapshots are under `memory/`. */
  dataDir: string;
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

/**
 * Opens the interaction log and the vector index on a data folder, as the bot does: the index's
 * snapshot plus the vectors stored after it (or rebuilt from the stored vectors, never by the
 * model); records left without a vector are embedded in the background. A start that fails
 * closes the log again.
 */
export async function openMemory(options: OpenMemoryOptions): Promise<OpenedMemory> {
  const dir = join(options.dataDir, 'memory');
  const log = new InteractionLog(options.dataDir);
  const memory = createMemory({
    log,
    index: new VectorIndex({ dir, source: log.vectors }),
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
    log.close();
    throw error;
  }
  return { memory, log };
}
