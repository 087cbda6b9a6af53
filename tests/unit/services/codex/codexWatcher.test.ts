import {
  appendFileSync,
  mkdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type CodexWatcher,
  codexWatchPlan,
  watchCodex,
} from '../../../../src/services/codex/codexWatcher.ts';
import { createSilentLogger } from '../../../../src/services/logger.ts';
import { ManualClock } from '../../../support/clock.ts';
import { tempFolders } from '../../../support/fixtures.ts';

const { folder, cleanup } = tempFolders();
let watcher: CodexWatcher | undefined;
afterEach(() => {
  watcher?.close();
  watcher = undefined;
  cleanup();
});

const DEBOUNCE = 500;
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Folder watches the test fires by hand: the file system's events, when the test says so. */
function handWatches() {
  const listeners = new Map<string, (entry: string | null) => void>();
  return {
    watchFolder: (dir: string, onEvent: (entry: string | null) => void) => {
      listeners.set(dir, onEvent);
      return { close: () => listeners.delete(dir) };
    },
    fire(dir: string, entry: string | null) {
      listeners.get(dir)?.(entry);
    },
    folders: () => [...listeners.keys()],
  };
}

/** A watcher on `path` that records what it hands over and what it refuses. */
function watching(path: string, clock: ManualClock, extra: Partial<Parameters<typeof watchCodex>[0]> = {}) {
  const edits: string[] = [];
  const refusals: string[][] = [];
  watcher = watchCodex({
    path,
    clock,
    logger: createSilentLogger(),
    onEdit: (text) => edits.push(text),
    onRefused: (problems) => refusals.push(problems),
    ...extra,
  });
  return { edits, refusals };
}

/** A codex at version 1 in a folder of its own, watched through watches the test fires by hand. */
function handWatched() {
  const dir = folder();
  const path = join(dir, 'codex.toml');
  writeFileSync(path, 'version = 1\n');
  const clock = new ManualClock();
  const watches = handWatches();
  return { dir, path, clock, watches, ...watching(path, clock, { watchFolder: watches.watchFolder }) };
}

/**
 * Moves the manual clock on while the real file system's events come in, until `done` holds:
 * each step lets the events arrive, then passes a quiet period.
 */
async function settle(clock: ManualClock, done: () => boolean): Promise<void> {
  for (let step = 0; step < 200 && !done(); step++) {
    for (let i = 0; i < 20; i++) await turn();
    await clock.advance(DEBOUNCE);
  }
}

describe('the codex watcher', () => {
  it('reads a file written in two parts only once it is whole and still', async () => {
    const { dir, path, clock, watches, edits } = handWatched();

    // The first half lands, and the edit settles.
    writeFileSync(path, 'version = 2\n[personas.ALFRED]\n');
    watches.fire(dir, 'codex.toml');
    await clock.advance(DEBOUNCE);
    // The writer goes on with no event (a slow copy whose events came at the start): the second
    // look finds the file grown, so it is not read yet.
    appendFileSync(path, 'model = "m"\n');
    await clock.advance(DEBOUNCE);
    expect(edits).toEqual([]);
    await clock.advance(DEBOUNCE);

    expect(edits).toEqual(['version = 2\n[personas.ALFRED]\nmodel = "m"\n']);
    // Looking again at the same file hands nothing over twice.
    watches.fire(dir, 'codex.toml');
    await clock.advance(3 * DEBOUNCE);
    expect(edits).toHaveLength(1);
  });

  it('ignores entries of its folder that are not on the way to the codex', async () => {
    const { dir, path, clock, watches, edits } = handWatched();

    writeFileSync(path, 'version = 2\n');
    watches.fire(dir, 'interactions.sqlite-wal');
    await clock.advance(3 * DEBOUNCE);
    expect(edits).toEqual([]);
    watches.fire(dir, 'codex.toml');
    await clock.advance(3 * DEBOUNCE);
    expect(edits).toEqual(['version = 2\n']);
  });

  it('notices a mounted config swapping its ..data link to a new folder, again and again', async () => {
    // The Kubernetes ConfigMap layout: codex.toml → ..data/codex.toml, ..data → ..<timestamp>.
    const dir = folder();
    const version = (name: string, text: string) => {
      mkdirSync(join(dir, name));
      writeFileSync(join(dir, name, 'codex.toml'), text);
    };
    const swapTo = (name: string, previous: string) => {
      symlinkSync(name, join(dir, '..data_tmp'));
      renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
      rmSync(join(dir, previous), { recursive: true });
    };
    version('..2026_11_30_a', 'version = 1\n');
    symlinkSync('..2026_11_30_a', join(dir, '..data'));
    symlinkSync(join('..data', 'codex.toml'), join(dir, 'codex.toml'));
    const clock = new ManualClock();
    const { edits } = watching(join(dir, 'codex.toml'), clock);

    version('..2026_11_30_b', 'version = 2\n');
    swapTo('..2026_11_30_b', '..2026_11_30_a');
    await settle(clock, () => edits.length === 1);
    expect(edits).toEqual(['version = 2\n']);

    // Watching followed the link: the next swap is seen too.
    version('..2026_11_30_c', 'version = 3\n');
    swapTo('..2026_11_30_c', '..2026_11_30_b');
    await settle(clock, () => edits.length === 2);
    expect(edits).toEqual(['version = 2\n', 'version = 3\n']);
  });

  it('notices an edit of the file a codex link points to in another folder', async () => {
    const real = join(folder(), 'real-codex.toml');
    const dir = folder();
    writeFileSync(real, 'version = 1\n');
    symlinkSync(real, join(dir, 'codex.toml'));
    const clock = new ManualClock();
    const { edits } = watching(join(dir, 'codex.toml'), clock);

    writeFileSync(real, 'version = 2\n');
    await settle(clock, () => edits.length === 1);

    expect(edits).toEqual(['version = 2\n']);
    expect(codexWatchPlan(join(dir, 'codex.toml')).folders).toHaveLength(2);
  });

  it('refuses a 50 MB codex unread, saying the file, its size and the limit, once', async () => {
    const { dir, path, clock, watches, edits, refusals } = handWatched();

    truncateSync(path, 50 * 1024 * 1024);
    watches.fire(dir, 'codex.toml');
    await clock.advance(3 * DEBOUNCE);
    watches.fire(dir, 'codex.toml');
    await clock.advance(3 * DEBOUNCE);

    expect(edits).toEqual([]);
    expect(refusals).toEqual([
      [
        `The codex ${path} is 52 MB (52428800 bytes), over the limit of 1.0 MB (1048576 bytes): it was not read.`,
      ],
    ]);
    // A codex of a sensible size afterwards is read as usual.
    writeFileSync(path, 'version = 2\n');
    watches.fire(dir, 'codex.toml');
    await clock.advance(3 * DEBOUNCE);
    expect(edits).toEqual(['version = 2\n']);
  });
});
