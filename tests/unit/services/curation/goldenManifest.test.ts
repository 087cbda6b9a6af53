import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createGoldenStore, type GoldenManifest } from '../../../../src/services/curation/goldenStore.ts';
import { goldenCount } from '../../../../src/services/finetune/datasetSnapshot.ts';
import { createSilentLogger } from '../../../../src/services/logger.ts';
import { sha256 } from '../../../../src/shared/hash.ts';
import { ManualClock } from '../../../support/clock.ts';
import { tempFolders } from '../../../support/fixtures.ts';
import { goldenSample } from './goldenSamples.ts';

const folders = tempFolders();
afterEach(() => folders.cleanup());

function openIn(dataDir: string, anchorSize = 0) {
  const dir = join(dataDir, 'golden');
  mkdirSync(dir, { recursive: true });
  return createGoldenStore({ dir, anchorSize, clock: new ManualClock(), logger: createSilentLogger() });
}

const onDisk = (store: { path: (persona: string) => string }, persona: string) =>
  JSON.parse(
    readFileSync(store.path(persona).replace(/\.jsonl$/, '.manifest.json'), 'utf8'),
  ) as GoldenManifest;

describe('the golden manifest', () => {
  it('shows before a flush what the flush writes, totals lowest score first', async () => {
    const dataDir = folders.folder();
    const store = openIn(dataDir);
    await store.append('BRICK', [
      goldenSample('i1', 'one', 5),
      goldenSample('i2', 'two', 3),
      goldenSample('i3', 'three', 4),
    ]);
    const shown = await store.manifest('BRICK');
    await store.flush();
    const written = onDisk(store, 'BRICK');
    expect(shown).toEqual(written);
    expect(Object.keys(written.totals)).toEqual(['3', '4', '5']);
    expect(written).toMatchObject({ samples: 3, newest: { interaction_id: 'i3' }, unreadable_lines: 0 });
  });

  it('counts what the fine-tune counts, and its sha256 is the file’s after appends and a removal', async () => {
    const dataDir = folders.folder();
    const store = openIn(dataDir);
    await store.append('BRICK', [goldenSample('i1', 'one'), goldenSample('i2', 'two')]);
    await store.append('BRICK', [goldenSample('i3', 'three')]);
    await store.flush();
    expect((await store.manifest('BRICK'))?.samples).toBe(goldenCount(dataDir, 'BRICK'));
    expect((await store.manifest('BRICK'))?.sha256).toBe(sha256(readFileSync(store.path('BRICK'))));
    await store.remove(new Set(['i2']));
    expect(await store.manifest('BRICK')).toMatchObject({
      samples: 2,
      sha256: sha256(readFileSync(store.path('BRICK'))),
    });
    expect(goldenCount(dataDir, 'BRICK')).toBe(2);
  });

  it('reads a set another process appended to without writing its manifest, and counts a line that is no sample', async () => {
    const dataDir = folders.folder();
    const store = openIn(dataDir);
    await store.append('BRICK', [goldenSample('i1', 'one')]);
    await store.flush();
    const before = readFileSync(store.path('BRICK').replace(/\.jsonl$/, '.manifest.json'), 'utf8');
    appendFileSync(
      store.path('BRICK'),
      `${JSON.stringify(goldenSample('i2', 'two'))}\n{"edited": "by hand"}\n`,
    );
    expect(await store.manifest('BRICK')).toMatchObject({
      samples: 2,
      unreadable_lines: 1,
      newest: { interaction_id: 'i2' },
      updated_at: JSON.parse(before).updated_at,
    });
    expect(readFileSync(store.path('BRICK').replace(/\.jsonl$/, '.manifest.json'), 'utf8')).toBe(before);
  });
});
