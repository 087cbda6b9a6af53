import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import hnswlib from 'hnswlib-node';
import type { LegacyVector, SnapshotMeta, VectorStore } from './vectorStore.ts';

/** `memory.meta.json` as it was written before the vectors lived in SQLite. */
interface LegacyMeta {
  version: 1;
  dimension: number;
  model: string;
  nextLabel: number;
  /** Record id → hnswlib label. */
  labels: Record<string, number>;
}

const LEGACY_FILE = 'memory.hnsw';

/**
 * Imports an index written before the `vectors` table existed (`memory.meta.json` version 1
 * beside `memory.hnsw`): each vector whose record is in the log goes into the store under its old
 * label, and the old file becomes the first snapshot recorded there. An upgrade then neither asks the embedding
 * model again nor rebuilds the index. Returns how many vectors were imported; an unreadable old
 * index imports none (its records are embedded again).
 */
export async function importLegacyIndex(dir: string, store: VectorStore, now: number): Promise<number> {
  const metaPath = join(dir, 'memory.meta.json');
  let legacy: LegacyMeta;
  try {
    legacy = JSON.parse(readFileSync(metaPath, 'utf8')) as LegacyMeta;
  } catch {
    return 0;
  }
  if (legacy.version !== 1) return 0;
  const indexPath = join(dir, LEGACY_FILE);
  const native = new hnswlib.HierarchicalNSW('cosine', legacy.dimension);
  let imported = 0;
  try {
    if ((await store.count()) > 0 || !existsSync(indexPath)) throw new Error('nothing to import');
    await native.readIndex(indexPath, true);
    const lastSeq = legacy.nextLabel - 1;
    const meta: SnapshotMeta = {
      version: 2,
      file: LEGACY_FILE,
      models: [legacy.model],
      dimension: legacy.dimension,
      lastSeq,
      live: Object.keys(legacy.labels).length,
      elements: native.getCurrentCount(),
      writtenAt: now,
    };
    const vectors: LegacyVector[] = [];
    for (const [recordId, label] of Object.entries(legacy.labels)) {
      try {
        vectors.push({ seq: label, recordId, vector: native.getPoint(label) });
      } catch {
        // Marked deleted in the old index: its record is embedded again.
      }
    }
    imported = await store.importLegacy(legacy.model, vectors, lastSeq, meta);
  } catch {
    // Unreadable: its records have no vector, and are embedded again.
  } finally {
    rmSync(metaPath, { force: true });
    // Frees the native copy now rather than whenever the garbage collector finds the wrapper.
    native.initIndex({ maxElements: 1 });
  }
  return imported;
}
