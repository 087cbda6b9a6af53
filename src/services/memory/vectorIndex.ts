import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import hnswlib from 'hnswlib-node';
import { writeFileDurablyAsync } from '../durableWrite.ts';
import { HeldChanges } from './heldChanges.ts';
import { dimensionMismatch } from './indexMismatch.ts';
import {
  removeOtherSnapshots,
  removeSnapshotFiles,
  snapshotDisagreement,
  snapshotFileBytes,
  snapshotFileName,
} from './snapshotFiles.ts';
import { countLiveElements, zeroDeletedVectors } from './snapshotScrub.ts';
import type { SnapshotMeta, VectorSource } from './vectorStore.ts';

const { HierarchicalNSW } = hnswlib;
type Native = InstanceType<typeof HierarchicalNSW>;

/** hnswlib parameters: M = 16, efConstruction = 200, ef = 64 reach recall@10 ≈ 1 at 100,000 vectors. */
export interface VectorIndexOptions {
  /** Folder holding the snapshot's hnswlib file. */
  dir: string;
  /** The durable vectors this index is a copy of, and the record of its snapshot (`InteractionLog.vectors`). */
  source: VectorSource;
  m?: number;
  efConstruction?: number;
  ef?: number;
  /** Capacity of a new index; it doubles whenever it fills up. Default 1024. */
  initialCapacity?: number;
}

/** How `restore` brought the index level with its source. */
export type RestoreOutcome =
  | { from: 'empty' }
  /** The snapshot, less the vectors forgotten since (`dropped`), plus those stored since (`replayed`). */
  | { from: 'snapshot'; replayed: number; dropped: number }
  /** Every vector inserted again from the store (no embedding model involved). */
  | { from: 'source'; rebuilt: number; reason: string };

export interface VectorHit {
  id: string;
  /** Cosine similarity, 1 = identical direction. */
  similarity: number;
}

/** Vectors read from the store per page when replaying or rebuilding; the event loop runs between pages. */
export const PAGE = 1000;

/**
 * An hnswlib index over the store's vectors, labelled by their `seq`, with string ids, deletions
 * and growth on demand. Adding a vector costs one hnswlib insert; the file on disk is only a
 * snapshot, written off the event loop now and then (`snapshot`), and a start loads it and
 * replays what the store holds beyond it (`restore`). A changed dimension is refused, not mixed.
 */
export class VectorIndex {
  private native: Native | undefined;
  private dim: number | undefined;
  private readonly models = new Set<string>();
  private readonly byId = new Map<string, number>();
  private readonly byLabel = new Map<number, string>();
  /** The highest label added since the index was last emptied. */
  private lastSeq = 0;
  private changes = 0;
  private meta: SnapshotMeta | undefined;
  private writing: Promise<SnapshotMeta | undefined> | undefined;
  /** Changes that wait while a snapshot is written from the native index. */
  private readonly held = new HeldChanges();

  constructor(private readonly options: VectorIndexOptions) {}

  get size(): number {
    return this.byLabel.size;
  }

  get dimension(): number | undefined {
    return this.dim;
  }

  /** Vectors added or removed since the last snapshot. */
  get dirty(): number {
    return this.changes;
  }

  /** The snapshot on disk, if any. */
  get snapshotMeta(): SnapshotMeta | undefined {
    return this.meta;
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  /** Whether `id` is in the index under exactly this label (a replay finds what this process added itself). */
  holds(id: string, seq: number): boolean {
    return this.byId.get(id) === seq;
  }

  /** Throws the rebuild hint when a vector of `length` cannot join this index. */
  checkDimension(length: number, model: string): void {
    if (this.dim !== undefined && length !== this.dim) throw dimensionMismatch(this.dim, model, length);
  }

  /**
   * Adds the vector stored under `seq` for `id` (replacing the one `id` had). `seq` must be the
   * store's: higher than every label added before.
   */
  add(seq: number, id: string, vector: ArrayLike<number>, model: string): void {
    this.checkDimension(vector.length, model);
    const previous = this.byId.get(id);
    // Already here (a replay of what this process stored itself): hnswlib must not see the label twice.
    if (previous === seq) return;
    if (previous !== undefined) {
      this.byLabel.delete(previous);
      this.drop(previous);
    }
    this.byId.set(id, seq);
    this.byLabel.set(seq, id);
    this.models.add(model);
    this.lastSeq = Math.max(this.lastSeq, seq);
    this.changes++;
    if (!this.held.add(seq, vector)) this.insertNative(seq, vector);
  }

  /** Removes `id`'s vector; with `only`, only when that is its label (a later vector of `id` stays). */
  remove(id: string, only?: number): boolean {
    const label = this.byId.get(id);
    if (label === undefined || (only !== undefined && label !== only)) return false;
    this.byId.delete(id);
    this.byLabel.delete(label);
    this.changes++;
    this.drop(label);
    return true;
  }

  /** The `k` nearest ids, most similar first. */
  search(vector: readonly number[], k: number, model: string): VectorHit[] {
    if (this.size === 0 || k <= 0) return [];
    this.checkDimension(vector.length, model);
    const hits: VectorHit[] = [];
    if (this.native) {
      // Deletions held during a snapshot are still in hnswlib: ask for that many more.
      const wanted = Math.min(k + this.held.deletions, this.native.getMaxElements());
      const result = this.native.searchKnn(vector as number[], wanted);
      result.neighbors.forEach((label, i) => {
        const id = this.byLabel.get(label);
        if (id !== undefined) hits.push({ id, similarity: 1 - (result.distances[i] ?? 1) });
      });
    }
    for (const { label, similarity } of this.held.search(vector)) {
      const id = this.byLabel.get(label);
      if (id !== undefined) hits.push({ id, similarity });
    }
    return hits.sort((a, b) => b.similarity - a.similarity).slice(0, k);
  }

  /**
   * Writes a snapshot: hnswlib writes a new file on the libuv thread pool (the native index is
   * frozen meanwhile, see `HeldChanges`), it is flushed and renamed and its folder flushed, all off
   * the event loop (`writeFileDurablyAsync`); then the store records it, in one SQLite commit.
   * Resolves with what was written, or undefined when there is nothing to write. One at a time:
   * a call during a write gets that write.
   */
  snapshot(now: number): Promise<SnapshotMeta | undefined> {
    if (this.writing) return this.writing;
    const pass = this.writeSnapshot(now).finally(() => {
      if (this.writing === pass) this.writing = undefined;
    });
    this.writing = pass;
    return pass;
  }

  /** Resolves when no snapshot is being written. */
  async idle(): Promise<void> {
    await this.writing?.catch(() => undefined);
  }

  /**
   * Brings the index level with its source at start: loads the snapshot, drops the labels the
   * store no longer has and replays the vectors stored after it. A snapshot that is missing,
   * unreadable, or disagrees with the store (another store, model or dimension, a label the
   * store has but the snapshot lacks) is set aside and the index is rebuilt from the store's
   * vectors. The embedding model is never asked.
   */
  async restore(): Promise<RestoreOutcome> {
    await this.idle();
    const summary = await this.options.source.summary();
    this.meta = undefined;
    const meta = await this.options.source.snapshot();
    if (summary.count === 0 || summary.dimension === undefined) {
      this.empty();
      await this.removeFiles();
      return { from: 'empty' };
    }
    let reason = meta ? snapshotDisagreement(this.options.dir, meta, summary) : 'there is no snapshot';
    if (meta && reason === undefined) {
      const loaded = await this.load(meta);
      if (typeof loaded !== 'string') return loaded;
      reason = loaded;
    }
    const rebuilt = await this.rebuildFromSource(summary.dimension, summary.count);
    return { from: 'source', rebuilt, reason: reason ?? 'there is no snapshot' };
  }

  /** Drops everything, in memory and on disk (a rebuild with another model). */
  async reset(): Promise<void> {
    await this.idle();
    this.empty();
    this.meta = undefined;
    await this.removeFiles();
  }

  /** Removes the snapshot files (the next start rebuilds from the store; `close` writes a new one). */
  async dropSnapshots(): Promise<void> {
    await this.idle();
    this.meta = undefined;
    this.changes = Math.max(this.changes, 1);
    await this.removeFiles();
  }

  /** Bytes of the snapshot's hnswlib file. */
  fileBytes(): number {
    return this.meta ? snapshotFileBytes(this.options.dir, this.meta.file) : 0;
  }

  private drop(label: number): void {
    if (!this.held.remove(label)) this.markDeleted(label);
  }

  private markDeleted(label: number): boolean {
    try {
      this.native?.markDelete(label);
      return this.native !== undefined;
    } catch {
      // Already deleted (hnswlib says so by throwing).
      return false;
    }
  }

  private insertNative(label: number, vector: ArrayLike<number>): void {
    const native = this.native ?? this.fresh(vector.length, this.options.initialCapacity ?? 1024);
    if (native.getCurrentCount() >= native.getMaxElements()) native.resizeIndex(native.getMaxElements() * 2);
    native.addPoint(Array.isArray(vector) ? vector : Array.from(vector), label, true);
  }

  private thaw(): void {
    this.held.thaw({
      insert: (label, vector) => this.insertNative(label, vector),
      markDeleted: (label) => this.markDeleted(label),
    });
  }

  /** A new, empty native index of `dimension`. */
  private fresh(dimension: number, capacity: number): Native {
    if (!this.native || this.dim !== dimension) {
      this.release();
      this.native = new HierarchicalNSW('cosine', dimension);
      this.dim = dimension;
    }
    // initIndex frees the native index it replaces at once (the garbage collector knows nothing
    // of those hundreds of megabytes).
    this.native.initIndex({
      maxElements: capacity,
      m: this.options.m ?? 16,
      efConstruction: this.options.efConstruction ?? 200,
      allowReplaceDeleted: true,
    });
    this.native.setEf(this.options.ef ?? 64);
    return this.native;
  }

  private release(): void {
    this.native?.initIndex({ maxElements: 1 });
    this.native = undefined;
    this.dim = undefined;
  }

  private empty(): void {
    this.release();
    this.models.clear();
    this.byId.clear();
    this.byLabel.clear();
    this.held.clear();
    this.lastSeq = 0;
    this.changes = 0;
  }

  private async writeSnapshot(now: number): Promise<SnapshotMeta | undefined> {
    const native = this.native;
    if (!native || this.dim === undefined) return undefined;
    const lastSeq = this.lastSeq;
    const meta: SnapshotMeta = {
      version: 2,
      file: snapshotFileName(lastSeq),
      models: [...this.models].sort(),
      dimension: this.dim,
      lastSeq,
      live: this.byLabel.size,
      elements: native.getCurrentCount(),
      writtenAt: now,
    };
    const counted = this.changes;
    // Frozen at once, so that the file holds exactly what `meta` says; thawed once hnswlib has written it.
    this.held.freeze();
    try {
      await writeFileDurablyAsync(join(this.options.dir, meta.file), async (temporary) => {
        try {
          await native.writeIndex(temporary);
        } finally {
          this.thaw();
        }
        // hnswlib keeps a deleted vector's data: a forgotten dialogue's must not reach the disk.
        if (meta.live < meta.elements) await zeroDeletedVectors(temporary);
      });
    } finally {
      // Also when the write failed before hnswlib began (the folder could not be made).
      this.thaw();
    }
    await this.options.source.recordSnapshot(meta);
    this.meta = meta;
    this.changes -= counted;
    await removeOtherSnapshots(this.options.dir, meta.file);
    return meta;
  }

  /** Loads a snapshot and brings it level with the store; a string says why it cannot be used. */
  private async load(meta: SnapshotMeta): Promise<RestoreOutcome | string> {
    this.empty();
    const native = new HierarchicalNSW('cosine', meta.dimension);
    this.native = native;
    this.dim = meta.dimension;
    const path = join(this.options.dir, meta.file);
    try {
      await native.readIndex(path, true);
    } catch {
      return 'the snapshot file is unreadable';
    }
    native.setEf(this.options.ef ?? 64);
    if (native.getCurrentCount() !== meta.elements) return 'the snapshot file is torn';
    // The count below proves every stored label live only if `meta.live` is the file's: read the marks.
    const live = await countLiveElements(path).catch(() => undefined);
    if (live === undefined) return 'the snapshot file is unreadable';
    if (live !== meta.live) return 'the snapshot counts its deleted vectors otherwise than its record';
    const stored = new Map<number, string>();
    for (const { seq, recordId } of await this.options.source.labels())
      if (seq <= meta.lastSeq) stored.set(seq, recordId);
    const inFile = native.getIdsList();
    const present = new Set(inFile);
    for (const seq of stored.keys()) if (!present.has(seq)) return 'the snapshot lacks vectors the store has';
    let dropped = 0;
    for (const label of inFile) {
      if (label > meta.lastSeq) return 'the snapshot holds labels beyond its sequence';
      // Forgotten since the snapshot was written.
      if (!stored.has(label) && this.markDeleted(label)) dropped++;
    }
    if (live - dropped !== stored.size) return 'the snapshot has deleted vectors the store still has';
    for (const [seq, id] of stored) {
      this.byLabel.set(seq, id);
      this.byId.set(id, seq);
    }
    for (const model of meta.models) this.models.add(model);
    this.lastSeq = meta.lastSeq;
    const replayed = await this.insertFromSource(meta.lastSeq);
    this.changes = replayed + dropped;
    this.meta = meta;
    return { from: 'snapshot', replayed, dropped };
  }

  private async rebuildFromSource(dimension: number, count: number): Promise<number> {
    this.empty();
    this.fresh(dimension, Math.max(this.options.initialCapacity ?? 1024, Math.ceil(count * 1.25)));
    const rebuilt = await this.insertFromSource(0);
    this.changes = rebuilt;
    return rebuilt;
  }

  /** Inserts the store's vectors after `seq`, a page at a time; returns how many. */
  private async insertFromSource(seq: number): Promise<number> {
    let total = 0;
    for (let after = seq; ; ) {
      const page = await this.options.source.after(after, PAGE);
      if (page.length === 0) return total;
      for (const stored of page) {
        this.add(stored.seq, stored.recordId, stored.vector, stored.model);
        after = stored.seq;
      }
      total += page.length;
      await nextTurn();
    }
  }

  private async removeFiles(): Promise<void> {
    if (await this.options.source.snapshot()) await this.options.source.recordSnapshot(undefined);
    removeSnapshotFiles(this.options.dir);
  }
}
