import { appendFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createGoldenStore, type GoldenStore } from '../../../../src/services/curation/goldenStore.ts';
import { openGoldenStore } from '../../../../src/services/curation/openGoldenStore.ts';
import type { GoldenSample } from '../../../../src/services/curation/sample.ts';
import type { StoreLocation } from '../../../../src/services/db/openStoreDatabase.ts';
import { createSilentLogger } from '../../../../src/services/logger.ts';
import { sha256 } from '../../../../src/shared/hash.ts';
import { ManualClock } from '../../../support/clock.ts';
import { tempFolders } from '../../../support/fixtures.ts';
import { useStoreBackends } from '../../../support/postgres.ts';
import { goldenSample } from './goldenSamples.ts';

const folders = tempFolders();
const opened: GoldenStore[] = [];
afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
  folders.cleanup();
});

const ids = (samples: readonly GoldenSample[]) => samples.map((sample) => sample.meta.interaction_id);

async function linesOf(store: GoldenStore, persona: string, set: 'golden' | 'anchor'): Promise<string[]> {
  const lines: string[] = [];
  for await (const line of store.lines(persona, set)) lines.push(line);
  return lines;
}

const idsIn = async (store: GoldenStore, persona: string, set: 'golden' | 'anchor' = 'golden') =>
  (await linesOf(store, persona, set)).map((line) => (JSON.parse(line) as GoldenSample).meta.interaction_id);

const withMeta = (sample: GoldenSample, meta: Partial<GoldenSample['meta']>): GoldenSample => ({
  ...sample,
  meta: { ...sample.meta, ...meta },
});

/**
 * One suite, two backends: the files under `DATA_DIR/golden` (what SQLite's backend means here,
 * the default) and the table in PostgreSQL.
 */
describe.each(useStoreBackends())('the golden store on $name', (backend) => {
  const place = () => backend.location(folders.folder());
  const open = async (location: StoreLocation, anchorSize = 2) => {
    const store = await openGoldenStore(location, {
      dir: join(location.dataDir, 'golden'),
      anchorSize,
      clock: new ManualClock(),
      logger: createSilentLogger(),
    });
    opened.push(store);
    return store;
  };

  it('de-duplicates by content hash, within a batch and across processes, and keeps a running sha256', async () => {
    const location = await place();
    const store = await open(location);
    expect(
      await store.append('BRICK', [
        goldenSample('i1', 'one'),
        goldenSample('i2', 'one'),
        goldenSample('i3', 'two'),
      ]),
    ).toEqual({ added: 2, duplicates: 1 });
    await store.flush();
    // Another process reads the set back and knows what it holds.
    const other = await open(location);
    expect(await other.has('BRICK', goldenSample('x', 'two').meta.content_hash)).toBe(true);
    expect(await other.append('BRICK', [goldenSample('i4', 'two'), goldenSample('i5', 'three')])).toEqual({
      added: 1,
      duplicates: 1,
    });
    await other.flush();
    const manifest = await other.manifest('BRICK');
    expect(manifest).toMatchObject({ samples: 3, totals: { '5': 3 }, newest: { interaction_id: 'i5' } });
    const { data, whole } = await other.contents('BRICK', Number.MAX_SAFE_INTEGER);
    expect(whole).toBe(true);
    expect(manifest?.sha256).toBe(sha256(data));
    expect(manifest?.bytes).toBe(data.length);
    expect(ids(await other.newest('BRICK', 2))).toEqual(['i3', 'i5']);
    expect(await other.personas()).toEqual(['BRICK']);
  });

  it('gives its lines as a set file holds them: JSON lines in order, and the last whole ones that fit', async () => {
    const store = await open(await place());
    const samples = [goldenSample('i1', 'one'), goldenSample('i2', 'two'), goldenSample('i3', 'three')];
    await store.append('ROBIN', samples);
    const lines = samples.map((sample) => JSON.stringify(sample));
    expect(await linesOf(store, 'ROBIN', 'golden')).toEqual(lines);
    const file = lines.map((line) => `${line}\n`).join('');
    expect((await store.contents('ROBIN', 1 << 20)).data.toString()).toBe(file);
    // Room for the last two lines and a bit: the two, not the piece of the first.
    const two = Buffer.byteLength(`${lines[1]}\n${lines[2]}\n`);
    expect(await store.contents('ROBIN', two + 10)).toEqual({
      data: Buffer.from(`${lines[1]}\n${lines[2]}\n`),
      whole: false,
    });
    // Exactly the last two: the window starts at a line's first byte, and that line is dropped, as a file's tail is read.
    expect((await store.contents('ROBIN', two)).data.toString()).toBe(`${lines[2]}\n`);
    expect(await store.contents('NOBODY', 100)).toEqual({ data: Buffer.alloc(0), whole: true });
    expect(await linesOf(store, 'NOBODY', 'golden')).toEqual([]);
    expect(await store.manifest('NOBODY')).toBeUndefined();
  });

  it('fills the anchor with the first samples, freezes it, and shrinks it on removal without refilling', async () => {
    const store = await open(await place(), 2);
    await store.append('BRICK', [goldenSample('i1', 'one')]);
    await store.flush();
    expect((await store.manifest('BRICK'))?.anchor).toMatchObject({ samples: 1, size: 2, frozen: false });
    await store.append('BRICK', [goldenSample('i2', 'two'), goldenSample('i3', 'three')]);
    await store.flush();
    expect((await store.manifest('BRICK'))?.anchor).toMatchObject({ samples: 2, frozen: true });
    expect(await idsIn(store, 'BRICK', 'anchor')).toEqual(['i1', 'i2']);
    expect(await store.remove(new Set(['i1']))).toEqual({ BRICK: { samples: 1, anchor: 1 } });
    await store.append('BRICK', [goldenSample('i4', 'four')]);
    await store.flush();
    expect(await idsIn(store, 'BRICK', 'anchor')).toEqual(['i2']);
    const manifest = await store.manifest('BRICK');
    expect(manifest).toMatchObject({ samples: 3, anchor: { samples: 1, frozen: true } });
    const anchorText = (await linesOf(store, 'BRICK', 'anchor')).map((line) => `${line}\n`).join('');
    expect(manifest?.anchor.sha256).toBe(sha256(anchorText));
  });

  it('removes the samples that recalled a forgotten dialogue, and those holding a forgotten member’s words', async () => {
    const store = await open(await place(), 10);
    await store.append('BRICK', [
      withMeta(goldenSample('i1', 'one'), { members: ['alice'] }),
      withMeta(goldenSample('i2', 'two'), { members: ['bob'], recalled: ['i1'] }),
      withMeta(goldenSample('i3', 'three'), { members: ['bob', 'carol'] }),
      withMeta(goldenSample('i4', 'four'), { members: ['dave'] }),
    ]);
    await store.flush();
    expect(await store.remove(new Set(['i1']))).toEqual({ BRICK: { samples: 2, anchor: 2 } });
    expect(await idsIn(store, 'BRICK')).toEqual(['i3', 'i4']);
    expect(await store.removeMembers(new Set(['carol']))).toEqual({ BRICK: { samples: 1, anchor: 1 } });
    expect(await idsIn(store, 'BRICK')).toEqual(['i4']);
    expect(await store.removeMembers(new Set(['nobody']))).toEqual({});
    expect(await store.manifest('BRICK')).toMatchObject({ samples: 1 });
    // The set stays, empty or not.
    expect(await store.remove(new Set(['i4']))).toEqual({ BRICK: { samples: 1, anchor: 1 } });
    expect(await store.personas()).toEqual(['BRICK']);
    expect(await store.manifest('BRICK')).toMatchObject({ samples: 0, newest: null });
  });

  it('removes one persona’s samples of a dialogue, not the others’, nor those that only recalled it', async () => {
    const store = await open(await place(), 0);
    const robin = (sample: GoldenSample) => withMeta(sample, { persona: 'ROBIN' });
    await store.append('BRICK', [
      goldenSample('i1', 'one'),
      withMeta(goldenSample('i2', 'two'), { recalled: ['i1'] }),
    ]);
    await store.append('ROBIN', [robin(goldenSample('i1', 'uno'))]);
    expect(await store.removeFromSet('BRICK', new Set(['i1']))).toEqual({ samples: 1, anchor: 0 });
    expect(await idsIn(store, 'BRICK')).toEqual(['i2']);
    expect(await idsIn(store, 'ROBIN')).toEqual(['i1']);
    expect(await store.removeFromSet('NOBODY', new Set(['i1']))).toEqual({ samples: 0, anchor: 0 });
    expect(await store.personas()).toEqual(['BRICK', 'ROBIN']);
  });

  it('shows before a flush what the flush writes, and brings a manifest left behind up to date at a repair', async () => {
    const location = await place();
    const store = await open(location, 0);
    await store.append('BRICK', [
      goldenSample('i1', 'one', 5),
      goldenSample('i2', 'two', 3),
      goldenSample('i3', 'three', 4),
    ]);
    const shown = await store.manifest('BRICK');
    // A kill before the flush: the next process's repair writes the manifest.
    const next = await open(location, 0);
    expect(await next.repair()).toEqual({});
    const written = await next.manifest('BRICK');
    expect(written).toEqual(shown);
    expect(Object.keys(written?.totals ?? {})).toEqual(['3', '4', '5']);
    expect(written).toMatchObject({ samples: 3, newest: { interaction_id: 'i3' }, unreadable_lines: 0 });
  });
});

describe('the golden store’s files', () => {
  const open = (dir: string, anchorSize = 2) =>
    createGoldenStore({ dir, anchorSize, clock: new ManualClock(), logger: createSilentLogger() });

  it('cuts a torn line longer than its read-back chunk, down to the last whole line', async () => {
    const dir = folders.folder();
    const store = open(dir);
    await store.append('BRICK', [goldenSample('i1', 'one')]);
    await store.flush();
    const whole = readFileSync(store.path('BRICK'), 'utf8');
    appendFileSync(store.path('BRICK'), `{"messages": "${'x'.repeat(200_000)}`);
    const reopened = open(dir);
    expect(await reopened.newest('BRICK', 5)).toHaveLength(1);
    expect(await idsIn(reopened, 'BRICK')).toEqual(['i1']);
    expect(await reopened.repair()).toEqual({ BRICK: 1 });
    expect(readFileSync(store.path('BRICK'), 'utf8')).toBe(whole);
    expect(await reopened.repair()).toEqual({});
    expect(await reopened.manifest('BRICK')).toMatchObject({ samples: 1, repaired_lines: 1 });
  });

  it('cuts a file that holds only a torn line down to nothing', async () => {
    const dir = folders.folder();
    writeFileSync(join(dir, 'ROBIN.jsonl'), '{"messages": [');
    const store = open(dir);
    expect(await store.repair()).toEqual({ ROBIN: 1 });
    expect(statSync(store.path('ROBIN')).size).toBe(0);
    expect(await store.manifest('ROBIN')).toMatchObject({ samples: 0, newest: null });
  });

  it('is the files it names: the set’s bytes and the anchor’s', async () => {
    const dir = folders.folder();
    const store = open(dir, 1);
    await store.append('BRICK', [goldenSample('i1', 'one'), goldenSample('i2', 'two')]);
    await store.flush();
    expect(readFileSync(store.path('BRICK'))).toEqual((await store.contents('BRICK', 1 << 20)).data);
    expect(readFileSync(store.anchorPath('BRICK'), 'utf8')).toBe(
      `${(await linesOf(store, 'BRICK', 'anchor')).join('\n')}\n`,
    );
  });
});
