import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { SnapshotMeta, VectorSummary } from './vectorStore.ts';

/**
 * The search index's snapshot files in its folder: how they are named, whether a recorded one can
 * serve the store, and removing those no record names any more.
 */

/** A fresh name for a snapshot holding labels up to `lastSeq`: a recorded file is never overwritten. */
export function snapshotFileName(lastSeq: number): string {
  return `snapshot-${lastSeq}-${randomBytes(4).toString('hex')}.hnsw`;
}

/** An hnswlib file, or the temporary one of a write a crash cut short. */
export function isSnapshotFile(name: string): boolean {
  return name.endsWith('.hnsw') || (name.startsWith('.') && name.includes('.hnsw') && name.endsWith('.tmp'));
}

/** Removes every snapshot file in `dir` but `keep`, off the event loop. */
export async function removeOtherSnapshots(dir: string, keep: string): Promise<void> {
  for (const name of readdirSync(dir))
    if (name !== keep && isSnapshotFile(name)) await rm(join(dir, name), { force: true });
}

/** Removes every snapshot file in `dir`, if it exists. */
export function removeSnapshotFiles(dir: string): void {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) if (isSnapshotFile(name)) rmSync(join(dir, name), { force: true });
}

/** Bytes of a snapshot's file in `dir`; 0 when it is missing. */
export function snapshotFileBytes(dir: string, file: string): number {
  try {
    return statSync(join(dir, file)).size;
  } catch {
    return 0;
  }
}

/** Why a recorded snapshot cannot be brought level with the store, or undefined when it can. */
export function snapshotDisagreement(
  dir: string,
  meta: SnapshotMeta,
  summary: VectorSummary,
): string | undefined {
  if (meta.dimension !== summary.dimension)
    return `the snapshot holds ${meta.dimension}-dimensional vectors, the store ${summary.dimension}`;
  const other = meta.models.find((model) => !summary.models.includes(model));
  if (other) return `the snapshot holds vectors of ${other}, the store none`;
  if (meta.lastSeq > summary.lastSeq) return 'the snapshot is ahead of the store';
  if (!existsSync(join(dir, meta.file))) return 'the snapshot file is missing';
  return undefined;
}
