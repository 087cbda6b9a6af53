import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import hnswlib from 'hnswlib-node';
import { afterEach, describe, expect, it } from 'vitest';
import { zeroDeletedVectors } from '../../../../src/services/memory/snapshotScrub.ts';
import { tempFolders } from '../../../support/fixtures.ts';

const { folder, cleanup } = tempFolders();
afterEach(cleanup);

const DIM = 16;
const vectorOf = (k: number) => Array.from({ length: DIM }, (_, i) => Math.sin(k * 7 + i));
/** A vector's bytes as hnswlib keeps them (normalised float32, as `getPoint` reads them back). */
const bytesOf = (point: number[]) => Buffer.from(Float32Array.from(point).buffer);

describe('an index snapshot scrubbed of deleted vectors', () => {
  it('keeps no data of a vector marked deleted, and still loads and finds the others', async () => {
    const native = new hnswlib.HierarchicalNSW('cosine', DIM);
    native.initIndex({ maxElements: 16, m: 16, efConstruction: 200, allowReplaceDeleted: true });
    for (let label = 1; label <= 5; label++) native.addPoint(vectorOf(label), label, true);
    const stored = [1, 2, 3, 4, 5].map((label) => bytesOf(native.getPoint(label)));
    native.markDelete(2);
    native.markDelete(4);
    const path = join(folder(), 'snapshot.hnsw');
    await native.writeIndex(path);
    expect(stored.every((bytes) => readFileSync(path).includes(bytes))).toBe(true);

    expect(await zeroDeletedVectors(path)).toBe(2);

    const file = readFileSync(path);
    expect(stored.map((bytes) => file.includes(bytes))).toEqual([true, false, true, false, true]);
    const loaded = new hnswlib.HierarchicalNSW('cosine', DIM);
    await loaded.readIndex(path, true);
    expect(loaded.getCurrentCount()).toBe(5);
    // Still marked deleted: hnswlib says so by refusing to delete them again.
    expect(() => loaded.markDelete(2)).toThrow();
    expect(() => loaded.markDelete(4)).toThrow();
    expect(loaded.searchKnn(vectorOf(3), 3).neighbors.sort()).toEqual([1, 3, 5]);
    // A second pass finds the same elements and changes nothing more.
    expect(await zeroDeletedVectors(path)).toBe(2);
    expect(readFileSync(path).equals(file)).toBe(true);
  });

  it('refuses a file that is not an hnswlib index of the layout it knows, and leaves it as it was', async () => {
    const path = join(folder(), 'other.hnsw');
    const bytes = Buffer.alloc(512, 7);
    writeFileSync(path, bytes);
    await expect(zeroDeletedVectors(path)).rejects.toThrow(/not an hnswlib index/);
    expect(readFileSync(path).equals(bytes)).toBe(true);
  });
});
