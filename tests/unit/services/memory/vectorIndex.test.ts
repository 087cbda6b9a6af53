import { readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { VectorIndex } from '../../../../src/services/memory/vectorIndex.ts';
import type {
  SnapshotMeta,
  StoredVector,
  VectorSource,
  VectorSummary,
} from '../../../../src/services/memory/vectorStore.ts';
import { tempFolders } from '../../../support/fixtures.ts';

const { folder, cleanup } = tempFolders();
afterEach(cleanup);

const unit = (dim: number, hot: number) => Array.from({ length: dim }, (_, i) => (i === hot ? 1 : 0.01));

/** The vectors table as a map: what the index is a copy of, and the record of its snapshot. */
class InMemoryVectorSource implements VectorSource {
  readonly rows = new Map<number, StoredVector>();
  recorded: SnapshotMeta | undefined;
  private seq = 0;

  /** Stores a vector as the SQLite store would, under the next seq; returns it. */
  put(recordId: string, vector: number[], model = 'm'): StoredVector {
    for (const [seq, row] of this.rows) if (row.recordId === recordId) this.rows.delete(seq);
    const row = { seq: ++this.seq, recordId, model, vector: Float32Array.from(vector) };
    this.rows.set(row.seq, row);
    return row;
  }

  delete(recordId: string): void {
    for (const [seq, row] of this.rows) if (row.recordId === recordId) this.rows.delete(seq);
  }

  async summary(): Promise<VectorSummary> {
    const rows = [...this.rows.values()];
    return {
      count: rows.length,
      lastSeq: this.seq,
      models: [...new Set(rows.map((r) => r.model))].sort(),
      dimension: rows[0]?.vector.length,
    };
  }

  async snapshot() {
    return this.recorded;
  }

  async recordSnapshot(meta: SnapshotMeta | undefined) {
    this.recorded = meta;
  }

  async labels() {
    return [...this.rows.values()].map(({ seq, recordId }) => ({ seq, recordId }));
  }

  async after(seq: number, limit: number): Promise<StoredVector[]> {
    return [...this.rows.values()]
      .filter((r) => r.seq > seq)
      .sort((a, b) => a.seq - b.seq)
      .slice(0, limit);
  }
}

/** Stores and indexes a vector, as the memory does. */
function remember(
  source: InMemoryVectorSource,
  index: VectorIndex,
  id: string,
  vector: number[],
  model = 'm',
) {
  const row = source.put(id, vector, model);
  index.add(row.seq, id, vector, model);
}

const now = Date.UTC(2026, 10, 30);

describe('VectorIndex', () => {
  it('grows past its initial capacity with no limit a user hits', () => {
    const source = new InMemoryVectorSource();
    const index = new VectorIndex({ dir: folder(), source, initialCapacity: 4 });
    for (let i = 0; i < 50; i++) remember(source, index, `id${i}`, unit(64, i));
    expect(index.size).toBe(50);
    expect(index.search(unit(64, 7), 1, 'm')[0]).toMatchObject({ id: 'id7' });
  });

  it('replaces a vector added again under the same id, and deletes by id', () => {
    const source = new InMemoryVectorSource();
    const index = new VectorIndex({ dir: folder(), source });
    remember(source, index, 'a', unit(8, 0));
    remember(source, index, 'a', unit(8, 1));
    remember(source, index, 'b', unit(8, 2));
    expect(index.size).toBe(2);
    expect(index.search(unit(8, 1), 1, 'm')[0]?.id).toBe('a');
    expect(index.remove('a')).toBe(true);
    expect(index.search(unit(8, 1), 2, 'm').map((h) => h.id)).toEqual(['b']);
  });

  it('refuses vectors of another dimension, naming the rebuild command', () => {
    const source = new InMemoryVectorSource();
    const index = new VectorIndex({ dir: folder(), source });
    remember(source, index, 'x', unit(16, 0), 'old-model');
    expect(() => index.add(2, 'y', unit(8, 0), 'new-model')).toThrow(
      /16-dimensional.*new-model gives 8.*npm run memory:rebuild/,
    );
    expect(() => index.search(unit(8, 0), 1, 'new-model')).toThrow(/memory:rebuild/);
  });

  it('restores a snapshot, dropping what was forgotten since and replaying what was stored since', async () => {
    const dir = folder();
    const source = new InMemoryVectorSource();
    const index = new VectorIndex({ dir, source });
    for (let i = 0; i < 5; i++) remember(source, index, `old${i}`, unit(16, i));
    expect(index.dirty).toBe(5);
    expect(await index.snapshot(now)).toMatchObject({ lastSeq: 5, live: 5, dimension: 16, models: ['m'] });
    expect(index.dirty).toBe(0);
    // After the snapshot: one forgotten, two stored. Then the process dies without another.
    source.delete('old1');
    index.remove('old1');
    remember(source, index, 'new0', unit(16, 10));
    remember(source, index, 'new1', unit(16, 11));

    const restarted = new VectorIndex({ dir, source });
    expect(await restarted.restore()).toEqual({ from: 'snapshot', replayed: 2, dropped: 1 });
    expect(restarted.size).toBe(6);
    expect(restarted.search(unit(16, 11), 1, 'm')[0]?.id).toBe('new1');
    expect(restarted.search(unit(16, 1), 6, 'm').map((h) => h.id)).not.toContain('old1');
    expect(restarted.dirty).toBe(3);
  });

  it('writes no data of a removed vector into the next snapshot, which replaces the older ones; a start loads it', async () => {
    const dir = folder();
    const source = new InMemoryVectorSource();
    const index = new VectorIndex({ dir, source });
    // Of length one already, in numbers float32 holds exactly: hnswlib stores it as it is.
    const forgotten = Array.from({ length: 16 }, (_, i) => (i % 4 === 1 ? 0.5 : 0));
    for (let i = 0; i < 4; i++) remember(source, index, `v${i}`, unit(16, i));
    remember(source, index, 'forgotten', forgotten);
    await index.snapshot(now);
    const files = () => readdirSync(dir).filter((name) => name.endsWith('.hnsw'));
    const [first] = files();
    const bytes = Buffer.from(Float32Array.from(forgotten).buffer);
    expect(readFileSync(join(dir, first ?? '')).includes(bytes)).toBe(true);

    source.delete('forgotten');
    index.remove('forgotten');
    await index.snapshot(now + 1);
    expect(files()).toHaveLength(1);
    expect(files()).not.toContain(first);
    expect(readFileSync(join(dir, files()[0] ?? '')).includes(bytes)).toBe(false);
    const restarted = new VectorIndex({ dir, source });
    expect(await restarted.restore()).toEqual({ from: 'snapshot', replayed: 0, dropped: 0 });
    expect(restarted.search(unit(16, 2), 1, 'm')[0]?.id).toBe('v2');

    // Where no snapshot can be written, the files go: the next start rebuilds from the store.
    await restarted.dropSnapshots();
    expect(files()).toEqual([]);
    expect(source.recorded).toBeUndefined();
    expect(restarted.dirty).toBeGreaterThan(0);
  });

  it('keeps serving searches while a snapshot is written, and stores what came meanwhile at the next', async () => {
    const dir = folder();
    const source = new InMemoryVectorSource();
    const index = new VectorIndex({ dir, source });
    for (let i = 0; i < 20; i++) remember(source, index, `v${i}`, unit(32, i));
    const writing = index.snapshot(now);
    // hnswlib is writing on the thread pool: these wait beside it, searchable at once.
    remember(source, index, 'during', unit(32, 25));
    source.delete('v3');
    index.remove('v3');
    expect(index.search(unit(32, 25), 1, 'm')[0]).toMatchObject({ id: 'during' });
    expect(index.search(unit(32, 3), 25, 'm').map((h) => h.id)).not.toContain('v3');
    const meta = await writing;
    expect(meta).toMatchObject({ lastSeq: 20, live: 20 });
    expect(index.dirty).toBe(2);
    expect(index.search(unit(32, 25), 1, 'm')[0]).toMatchObject({ id: 'during' });

    const restarted = new VectorIndex({ dir, source });
    expect(await restarted.restore()).toEqual({ from: 'snapshot', replayed: 1, dropped: 1 });
    expect(restarted.size).toBe(20);
  });

  it('rebuilds from the store when the snapshot is torn, missing or of another store, model or dimension', async () => {
    // Each damages the file, or returns the record to keep instead.
    const cases: Array<[string, (dir: string, meta: SnapshotMeta) => SnapshotMeta | undefined, RegExp]> = [
      [
        'truncated file',
        (dir, meta) => {
          truncateSync(join(dir, meta.file), 100);
          return meta;
        },
        /unreadable/,
      ],
      [
        'garbage file',
        (dir, meta) => {
          writeFileSync(join(dir, meta.file), 'garbage');
          return meta;
        },
        /unreadable/,
      ],
      ['no record of it', () => undefined, /no snapshot/],
      ['another dimension', (_, meta) => ({ ...meta, dimension: 8 }), /8-dimensional/],
      ['another model', (_, meta) => ({ ...meta, models: ['other'] }), /vectors of other/],
      ['more elements than the file', (_, meta) => ({ ...meta, elements: meta.elements + 1 }), /torn/],
      ['a label deleted in it', (_, meta) => ({ ...meta, live: meta.live + 1 }), /deleted vectors/],
      ['missing file', (_, meta) => ({ ...meta, file: 'gone.hnsw' }), /missing/],
      ['ahead of the store', (_, meta) => ({ ...meta, lastSeq: 99 }), /ahead/],
    ];
    for (const [name, damage, reason] of cases) {
      const dir = folder();
      const source = new InMemoryVectorSource();
      const index = new VectorIndex({ dir, source });
      for (let i = 0; i < 6; i++) remember(source, index, `v${i}`, unit(16, i));
      const written = await index.snapshot(now);
      source.recorded = written && damage(dir, written);

      const restarted = new VectorIndex({ dir, source });
      const outcome = await restarted.restore();
      expect(outcome, name).toMatchObject({ from: 'source', rebuilt: 6 });
      expect(outcome.from === 'source' && outcome.reason, name).toMatch(reason);
      expect(restarted.size, name).toBe(6);
      expect(restarted.search(unit(16, 4), 1, 'm')[0]?.id, name).toBe('v4');
    }
  });

  it('rebuilds when the store holds a vector the snapshot should have but lacks', async () => {
    const dir = folder();
    const source = new InMemoryVectorSource();
    const index = new VectorIndex({ dir, source });
    remember(source, index, 'a', unit(16, 0));
    // Stored but never indexed, within the sequence the snapshot covers.
    source.put('b', unit(16, 1));
    remember(source, index, 'c', unit(16, 2));
    await index.snapshot(now);
    const restarted = new VectorIndex({ dir, source });
    expect(await restarted.restore()).toMatchObject({ from: 'source', reason: /lacks vectors/, rebuilt: 3 });
  });

  it('rebuilds when a stored vector is marked deleted in the file, whatever the record counts', async () => {
    const dir = folder();
    const source = new InMemoryVectorSource();
    const index = new VectorIndex({ dir, source });
    for (let i = 0; i < 3; i++) remember(source, index, `v${i}`, unit(16, i));
    // The index lost v1 while the store kept it; the record claims it live (the count then agrees).
    index.remove('v1');
    const written = await index.snapshot(now);
    source.recorded = written && { ...written, live: written.live + 1 };

    const restarted = new VectorIndex({ dir, source });
    expect(await restarted.restore()).toMatchObject({
      from: 'source',
      reason: /deleted vectors/,
      rebuilt: 3,
    });
    expect(restarted.search(unit(16, 1), 1, 'm')[0]?.id).toBe('v1');
  });

  it('starts empty, with no snapshot left behind, when the store holds no vectors', async () => {
    const dir = folder();
    const source = new InMemoryVectorSource();
    const index = new VectorIndex({ dir, source });
    remember(source, index, 'a', unit(16, 0));
    await index.snapshot(now);
    source.delete('a');
    const restarted = new VectorIndex({ dir, source });
    expect(await restarted.restore()).toEqual({ from: 'empty' });
    expect(restarted.fileBytes()).toBe(0);
  });

  it('keeps one snapshot file: each new one replaces the last', async () => {
    const dir = folder();
    const source = new InMemoryVectorSource();
    const index = new VectorIndex({ dir, source });
    remember(source, index, 'a', unit(16, 0));
    const first = await index.snapshot(now);
    remember(source, index, 'b', unit(16, 1));
    const second = await index.snapshot(now);
    expect(second?.file).not.toBe(first?.file);
    expect(readdirSync(dir)).toEqual([second?.file]);
    expect(source.recorded).toEqual(second);
    expect(index.fileBytes()).toBeGreaterThan(0);
  });
});
