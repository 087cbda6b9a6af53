import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import hnswlib from 'hnswlib-node';
import { writeFileDurably } from '../durableWrite.ts';
import { AppError } from '../errors.ts';

const { HierarchicalNSW } = hnswlib;

/** hnswlib parameters: M = 16, efConstruction = 200, ef = 64 reach recall@10 ≈ 1 at 100,000 vectors. */
export interface VectorIndexOptions {
  /** Folder holding `memory.hnsw` and `memory.meta.json`. */
  dir: string;
  m?: number;
  efConstruction?: number;
  ef?: number;
  /** Capacity of a new index; it doubles whenever it fills up. Default 1024. */
  initialCapacity?: number;
}

interface Meta {
  version: 1;
  dimension: number;
  /** The embedding model the vectors came from. */
  model: string;
  nextLabel: number;
  /** String id → hnswlib label. */
  labels: Record<string, number>;
}

export interface VectorHit {
  id: string;
  /** Cosine similarity, 1 = identical direction. */
  similarity: number;
}

export const REBUILD_HINT = 'npm run memory:rebuild';

/** The stored index cannot serve the current embedding model. */
export function dimensionMismatch(stored: number, model: string, got: number): AppError {
  return new AppError(
    'MEMORY_INDEX_MISMATCH',
    'user',
    `The memory index holds ${stored}-dimensional vectors, but the embedding model ${model} gives ${got}. ` +
      `Rebuild the index from the interaction log: \`${REBUILD_HINT}\``,
  );
}

/**
 * An hnswlib index with string ids, deletions, growth on demand, and crash-safe saves. The
 * embedding model and dimension are stored beside it so a changed model is refused, not mixed.
 */
export class VectorIndex {
  private index: InstanceType<typeof HierarchicalNSW> | undefined;
  private meta: Meta | undefined;
  private readonly byLabel = new Map<number, string>();
  private readonly indexPath: string;
  private readonly metaPath: string;

  constructor(private readonly options: VectorIndexOptions) {
    this.indexPath = join(options.dir, 'memory.hnsw');
    this.metaPath = join(options.dir, 'memory.meta.json');
  }

  /**
   * Loads the saved index. Returns 'empty' when there is none, 'corrupt' when the files cannot
   * be read back consistently (the caller rebuilds from the log).
   */
  load(): 'loaded' | 'empty' | 'corrupt' {
    if (!existsSync(this.metaPath) || !existsSync(this.indexPath)) return 'empty';
    try {
      const meta = JSON.parse(readFileSync(this.metaPath, 'utf8')) as Meta;
      const index = new HierarchicalNSW('cosine', meta.dimension);
      index.readIndexSync(this.indexPath, true);
      if (index.getCurrentCount() < Object.keys(meta.labels).length) return 'corrupt';
      index.setEf(this.options.ef ?? 64);
      this.adopt(index, meta);
      return 'loaded';
    } catch {
      return 'corrupt';
    }
  }

  /** Drops everything, in memory and on disk. */
  reset(): void {
    this.index = undefined;
    this.meta = undefined;
    this.byLabel.clear();
    rmSync(this.indexPath, { force: true });
    rmSync(this.metaPath, { force: true });
  }

  get size(): number {
    return this.byLabel.size;
  }

  get dimension(): number | undefined {
    return this.meta?.dimension;
  }

  has(id: string): boolean {
    return this.meta?.labels[id] !== undefined;
  }

  /** Adds (or replaces) the vector for `id`. */
  add(id: string, vector: readonly number[], model: string): void {
    const { index, meta } = this.ensure(vector.length, model);
    const previous = meta.labels[id];
    if (previous !== undefined) {
      index.markDelete(previous);
      this.byLabel.delete(previous);
    }
    if (index.getCurrentCount() >= index.getMaxElements()) index.resizeIndex(index.getMaxElements() * 2);
    const label = meta.nextLabel++;
    index.addPoint(vector as number[], label);
    meta.labels[id] = label;
    this.byLabel.set(label, id);
  }

  remove(id: string): boolean {
    const label = this.meta?.labels[id];
    if (label === undefined || !this.index || !this.meta) return false;
    this.index.markDelete(label);
    delete this.meta.labels[id];
    this.byLabel.delete(label);
    return true;
  }

  /** The `k` nearest ids, most similar first. */
  search(vector: readonly number[], k: number, model: string): VectorHit[] {
    if (!this.index || !this.meta || this.size === 0) return [];
    if (vector.length !== this.meta.dimension)
      throw dimensionMismatch(this.meta.dimension, model, vector.length);
    const result = this.index.searchKnn(vector as number[], Math.min(k, this.size));
    return result.neighbors.flatMap((label, i) => {
      const id = this.byLabel.get(label);
      return id ? [{ id, similarity: 1 - (result.distances[i] ?? 1) }] : [];
    });
  }

  /** Saves index then metadata, each through a temporary file and a rename. */
  save(): void {
    if (!this.index || !this.meta) return;
    const index = this.index;
    writeFileDurably(this.indexPath, (tmp) => index.writeIndexSync(tmp));
    writeFileDurably(this.metaPath, JSON.stringify(this.meta));
  }

  /** Bytes of the saved index file. */
  fileBytes(): number {
    try {
      return statSync(this.indexPath).size;
    } catch {
      return 0;
    }
  }

  private ensure(dimension: number, model: string) {
    if (this.index && this.meta) {
      if (dimension !== this.meta.dimension) throw dimensionMismatch(this.meta.dimension, model, dimension);
      return { index: this.index, meta: this.meta };
    }
    const index = new HierarchicalNSW('cosine', dimension);
    index.initIndex({
      maxElements: this.options.initialCapacity ?? 1024,
      m: this.options.m ?? 16,
      efConstruction: this.options.efConstruction ?? 200,
      allowReplaceDeleted: true,
    });
    index.setEf(this.options.ef ?? 64);
    const meta: Meta = { version: 1, dimension, model, nextLabel: 0, labels: {} };
    this.adopt(index, meta);
    return { index, meta };
  }

  private adopt(index: InstanceType<typeof HierarchicalNSW>, meta: Meta): void {
    this.index = index;
    this.meta = meta;
    this.byLabel.clear();
    for (const [id, label] of Object.entries(meta.labels)) this.byLabel.set(label, id);
  }
}
