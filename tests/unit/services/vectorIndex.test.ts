import { afterEach, describe, expect, it } from 'vitest';
import { VectorIndex } from '../../../src/services/memory/vectorIndex.ts';
import { tempFolders } from '../../support/fixtures.ts';

const { folder, cleanup } = tempFolders();
afterEach(cleanup);

const unit = (dim: number, hot: number) => Array.from({ length: dim }, (_, i) => (i === hot ? 1 : 0.01));

describe('VectorIndex', () => {
  it('grows past its initial capacity with no limit a user hits', () => {
    const index = new VectorIndex({ dir: folder(), initialCapacity: 4 });
    for (let i = 0; i < 50; i++) index.add(`id${i}`, unit(64, i), 'm');
    expect(index.size).toBe(50);
    expect(index.search(unit(64, 7), 1, 'm')[0]).toMatchObject({ id: 'id7' });
  });

  it('replaces a vector added again under the same id, and deletes by id', () => {
    const index = new VectorIndex({ dir: folder() });
    index.add('a', unit(8, 0), 'm');
    index.add('a', unit(8, 1), 'm');
    index.add('b', unit(8, 2), 'm');
    expect(index.size).toBe(2);
    expect(index.search(unit(8, 1), 1, 'm')[0]?.id).toBe('a');
    expect(index.remove('a')).toBe(true);
    expect(index.search(unit(8, 1), 2, 'm').map((h) => h.id)).toEqual(['b']);
  });

  it('survives a save and a reload, ids and all', () => {
    const dir = folder();
    const index = new VectorIndex({ dir });
    index.add('x', unit(16, 3), 'm');
    index.add('y', unit(16, 9), 'm');
    index.save();
    const reloaded = new VectorIndex({ dir });
    expect(reloaded.load()).toBe('loaded');
    expect(reloaded.search(unit(16, 9), 1, 'm')[0]).toMatchObject({ id: 'y' });
    expect(reloaded.dimension).toBe(16);
  });

  it('refuses vectors of another dimension, naming the rebuild command', () => {
    const index = new VectorIndex({ dir: folder() });
    index.add('x', unit(16, 0), 'old-model');
    expect(() => index.add('y', unit(8, 0), 'new-model')).toThrow(
      /16-dimensional.*new-model gives 8.*npm run memory:rebuild/,
    );
    expect(() => index.search(unit(8, 0), 1, 'new-model')).toThrow(/memory:rebuild/);
  });

  it('reports an unreadable index as corrupt', async () => {
    const dir = folder();
    const index = new VectorIndex({ dir });
    index.add('x', unit(16, 0), 'm');
    index.save();
    const { writeFileSync } = await import('node:fs');
    writeFileSync(`${dir}/memory.hnsw`, 'garbage');
    expect(new VectorIndex({ dir }).load()).toBe('corrupt');
    expect(new VectorIndex({ dir: folder() }).load()).toBe('empty');
  });
});
