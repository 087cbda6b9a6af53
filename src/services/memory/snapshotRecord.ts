import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileDurablyAsync } from '../durableWrite.ts';
import type { SnapshotMeta, SnapshotRecord, VectorSource, VectorStore } from './vectorStore.ts';

/**
 * Where a process records its index's latest snapshot. The snapshot is a cache on this host's
 * disk, so its record must describe this host's file: with SQLite (one `DATA_DIR`, the database
 * beside the files) a row in `memory_meta`, committed with nothing else; with PostgreSQL, shared
 * by processes on other hosts whose folders hold other files, a file in the snapshot's own
 * folder (`snapshot.json`), written durably after the hnswlib file: its commit point.
 */

const RECORD_FILE = 'snapshot.json';

/** The snapshot record as a file in `dir` (PostgreSQL). */
export function fileSnapshotRecord(dir: string): SnapshotRecord {
  const path = join(dir, RECORD_FILE);
  return {
    async snapshot() {
      try {
        return JSON.parse(await readFile(path, 'utf8')) as SnapshotMeta;
      } catch {
        return undefined;
      }
    },
    async recordSnapshot(meta) {
      if (meta) await writeFileDurablyAsync(path, `${JSON.stringify(meta)}\n`);
      else await rm(path, { force: true });
    },
  };
}

/**
 * The vectors of `store` with the snapshot recorded where this process keeps it: in the
 * database under a key of its own when `scope` names one of several processes sharing a SQLite
 * file, in a file in `dir` with PostgreSQL, else as before.
 */
export function snapshotSource(
  store: VectorStore,
  options: { dialect: 'sqlite' | 'postgres'; dir: string; scope?: string | undefined },
): VectorSource {
  const record =
    options.dialect === 'postgres'
      ? fileSnapshotRecord(options.dir)
      : options.scope
        ? store.recordIn(`snapshot:${options.scope}`)
        : store;
  return {
    summary: () => store.summary(),
    labels: () => store.labels(),
    after: (seq, limit) => store.after(seq, limit),
    snapshot: () => record.snapshot(),
    recordSnapshot: (meta) => record.recordSnapshot(meta),
  };
}
