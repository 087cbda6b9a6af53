import { createHash } from 'node:crypto';
import { appendFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createGoldenStore } from '../../../../src/services/curation/goldenStore.ts';
import type { GoldenSample } from '../../../../src/services/curation/sample.ts';
import { createSilentLogger } from '../../../../src/services/logger.ts';
import { ManualClock } from '../../../support/clock.ts';
import { tempFolders } from '../../../support/fixtures.ts';
import { goldenSample } from './goldenSamples.ts';

const folders = tempFolders();
afterEach(() => folders.cleanup());

describe('the golden store', () => {
  const open = (dir: string, anchorSize = 2) =>
    createGoldenStore({ dir, anchorSize, clock: new ManualClock(), logger: createSilentLogger() });

  it('cuts a torn line longer than its read-back chunk, down to the last whole line', () => {
    const dir = folders.folder();
    const store = open(dir);
    store.append('BRICK', [goldenSample('i1', 'one')]);
    store.flush();
    const whole = readFileSync(store.path('BRICK'), 'utf8');
    appendFileSync(store.path('BRICK'), `{"messages": "${'x'.repeat(200_000)}`);
    const reopened = open(dir);
    expect(reopened.newest('BRICK', 5)).toHaveLength(1);
    expect(reopened.repair()).toEqual({ BRICK: 1 });
    expect(readFileSync(store.path('BRICK'), 'utf8')).toBe(whole);
    expect(reopened.repair()).toEqual({});
    expect(reopened.manifest('BRICK')).toMatchObject({ samples: 1, repaired_lines: 1 });
  });

  it('cuts a file that holds only a torn line down to nothing', () => {
    const dir = folders.folder();
    writeFileSync(join(dir, 'ROBIN.jsonl'), '{"messages": [');
    const store = open(dir);
    expect(store.repair()).toEqual({ ROBIN: 1 });
    expect(statSync(store.path('ROBIN')).size).toBe(0);
    expect(store.manifest('ROBIN')).toMatchObject({ samples: 0, newest: null });
  });

  it('de-duplicates by content hash, within a batch and across processes, and keeps a running sha256', () => {
    const dir = folders.folder();
    const store = open(dir);
    expect(
      store.append('BRICK', [
        goldenSample('i1', 'one'),
        goldenSample('i2', 'one'),
        goldenSample('i3', 'two'),
      ]),
    ).toEqual({
      added: 2,
      duplicates: 1,
    });
    store.flush();
    // Another process reads the file back and knows what it holds.
    const other = open(dir);
    expect(other.append('BRICK', [goldenSample('i4', 'two'), goldenSample('i5', 'three')])).toEqual({
      added: 1,
      duplicates: 1,
    });
    other.flush();
    const manifest = other.manifest('BRICK');
    expect(manifest).toMatchObject({ samples: 3, totals: { '5': 3 }, newest: { interaction_id: 'i5' } });
    expect(manifest?.sha256).toBe(
      createHash('sha256')
        .update(readFileSync(other.path('BRICK')))
        .digest('hex'),
    );
    expect(other.newest('BRICK', 2).map((s) => s.meta.interaction_id)).toEqual(['i3', 'i5']);
  });

  it('fills the anchor with the first samples, freezes it, and shrinks it on removal without refilling', () => {
    const dir = folders.folder();
    const store = open(dir, 2);
    store.append('BRICK', [goldenSample('i1', 'one')]);
    store.flush();
    expect(store.manifest('BRICK')?.anchor).toMatchObject({ samples: 1, frozen: false });
    store.append('BRICK', [goldenSample('i2', 'two'), goldenSample('i3', 'three')]);
    store.flush();
    expect(store.manifest('BRICK')?.anchor).toMatchObject({ samples: 2, frozen: true });
    expect(store.remove(new Set(['i1']))).toEqual({ BRICK: { samples: 1, anchor: 1 } });
    store.append('BRICK', [goldenSample('i4', 'four')]);
    store.flush();
    const anchor = readFileSync(store.anchorPath('BRICK'), 'utf8').trim().split('\n');
    expect(anchor.map((line) => (JSON.parse(line) as GoldenSample).meta.interaction_id)).toEqual(['i2']);
    expect(store.manifest('BRICK')).toMatchObject({ samples: 3, anchor: { samples: 1, frozen: true } });
  });

  it('removes the samples that recalled a forgotten dialogue, and those holding a forgotten member’s words', () => {
    const dir = folders.folder();
    const store = open(dir, 10);
    const withMeta = (sample: GoldenSample, meta: Partial<GoldenSample['meta']>): GoldenSample => ({
      ...sample,
      meta: { ...sample.meta, ...meta },
    });
    store.append('BRICK', [
      withMeta(goldenSample('i1', 'one'), { members: ['alice'] }),
      withMeta(goldenSample('i2', 'two'), { members: ['bob'], recalled: ['i1'] }),
      withMeta(goldenSample('i3', 'three'), { members: ['bob', 'carol'] }),
      withMeta(goldenSample('i4', 'four'), { members: ['dave'] }),
    ]);
    store.flush();
    const left = () =>
      readFileSync(store.path('BRICK'), 'utf8')
        .trim()
        .split('\n')
        .map((line) => (JSON.parse(line) as GoldenSample).meta.interaction_id);

    expect(store.remove(new Set(['i1']))).toEqual({ BRICK: { samples: 2, anchor: 2 } });
    expect(left()).toEqual(['i3', 'i4']);
    expect(store.removeMembers(new Set(['carol']))).toEqual({ BRICK: { samples: 1, anchor: 1 } });
    expect(left()).toEqual(['i4']);
    expect(store.removeMembers(new Set(['nobody']))).toEqual({});
    expect(store.manifest('BRICK')).toMatchObject({ samples: 1 });
  });
});
