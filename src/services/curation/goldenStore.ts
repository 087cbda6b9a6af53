import type { Clock } from '../clock.ts';
import type { Logger } from '../logger.ts';
import { appendSamples } from './goldenAppend.ts';
import { currentManifest, type GoldenManifest, writeManifest } from './goldenManifest.ts';
import { removeFromSet, removeInteractions, removeMembers } from './goldenRemoval.ts';
import { repairSets } from './goldenRepair.ts';
import { anchorPath, type GoldenSets, loadSet, personasIn, readSample, setPath } from './goldenSets.ts';
import { lastLines, tailOfWholeLines, wholeLines } from './lineFile.ts';
import type { GoldenSample } from './sample.ts';

export { type GoldenManifest, MANIFEST_FORMAT } from './goldenManifest.ts';

/**
 * The golden datasets, one set per persona. By default on disk, in `DATA_DIR/golden/`:
 * - `<PERSONA>.jsonl`: the samples ({@link GoldenSample}, one a line), only ever appended to
 *   (append, then fsync) except when `/memory forget` removes some (a durable rewrite);
 * - `<PERSONA>.anchor.jsonl`: the first `CURATION_ANCHOR_SIZE` samples, frozen once full;
 * - `<PERSONA>.manifest.json`: count, newest, size and sha256 of the set (a durable write).
 *
 * A kill in the middle of an append leaves a torn last line: `repair` cuts it (and counts it), and
 * no reader here ever takes a line that does not end in a newline. One writer at a time: the
 * curation service holds a lease while it writes.
 *
 * The work is done in the files beside this one (goldenSets: what memory holds; goldenAppend,
 * goldenRemoval, goldenRepair: the writes; goldenManifest, goldenAnchor: the files that describe a
 * set); the store binds them to one folder. With `DATABASE_URL` the sets are rows of a table
 * instead (goldenTable), behind the same interface: `openGoldenStore` picks.
 */

export interface GoldenStoreOptions {
  /** `DATA_DIR/golden`. */
  dir: string;
  /** How many first samples make a persona's anchor set (0: none). */
  anchorSize: number;
  clock: Clock;
  logger: Logger;
}

/** Which of a persona's sets: its golden set, or its anchor set (the golden set's first samples). */
export type GoldenSetKind = 'golden' | 'anchor';

/** What a fine-tune's snapshot reads of the sets: their samples, as the lines a set's file holds. */
export interface GoldenReader {
  /**
   * A set's samples in order, each the JSON line a dataset file holds (without its newline);
   * none when the persona has no set. Whole lines only: a line a kill tore is not one.
   */
  lines(persona: string, set: GoldenSetKind): AsyncIterable<string>;
}

/**
 * The golden sets, wherever they are: JSON-lines files under `DATA_DIR/golden` (the default), or
 * a table in PostgreSQL (`goldenTable.ts`) when `DATABASE_URL` is set. Every method answers the
 * same on both; the files' paths become descriptions of the table's rows.
 */
export interface GoldenStore extends GoldenReader {
  /**
   * Cuts torn last lines (a kill during an append) and brings stale manifests and anchors up to
   * date; forgets what it held in memory of a set another process changed. Returns the lines cut,
   * by persona.
   */
  repair(): Promise<Record<string, number>>;
  /** Appends the samples not already in the set (by content hash); durable before it resolves. */
  append(persona: string, samples: readonly GoldenSample[]): Promise<{ added: number; duplicates: number }>;
  /** Whether the set already holds a sample with this content hash. */
  has(persona: string, contentHash: string): Promise<boolean>;
  /** Removes every sample of these interactions, or that recalled one, from every set and anchor (durably). */
  remove(interactionIds: ReadonlySet<string>): Promise<Record<string, { samples: number; anchor: number }>>;
  /** Removes every sample that holds one of these members' words from every set and anchor (durably). */
  removeMembers(userIds: ReadonlySet<string>): Promise<Record<string, { samples: number; anchor: number }>>;
  /** Removes one persona's samples of these interactions from its set and anchor (durably). */
  removeFromSet(
    persona: string,
    interactionIds: ReadonlySet<string>,
  ): Promise<{ samples: number; anchor: number }>;
  /** Writes the manifests (and fills the anchors) of the sets appended to since the last flush. */
  flush(): Promise<void>;
  /** Personas that have a set, in order. */
  personas(): Promise<string[]>;
  /** A set's manifest, current (made again if the set changed under it); undefined without a set. */
  manifest(persona: string): Promise<GoldenManifest | undefined>;
  /** The last `n` samples of a set, newest last. */
  newest(persona: string, n: number): Promise<GoldenSample[]>;
  /** The set as its file holds it, whole lines only, or its last whole lines within `maxBytes` (`whole: false`). */
  contents(persona: string, maxBytes: number): Promise<{ data: Buffer; whole: boolean }>;
  /** Where a set is: its file, or its rows in the database. */
  path(persona: string): string;
  anchorPath(persona: string): string;
  /** Lets go of the database (the files need nothing). */
  close(): Promise<void>;
}

/** Writes the manifests of the sets appended to since the last flush. */
function flushSets(sets: GoldenSets): void {
  for (const persona of [...sets.dirty]) {
    writeManifest(sets, persona);
    sets.dirty.delete(persona);
  }
}

/** The last `n` samples of a set, newest last (a line that is not a sample is skipped). */
function newestSamples(sets: GoldenSets, persona: string, n: number): GoldenSample[] {
  return lastLines(setPath(sets, persona), n)
    .flatMap((line) => readSample(Buffer.from(line)) ?? [])
    .slice(-n);
}

/**
 * The golden sets as files in `options.dir`. The work is synchronous (a file's append and fsync
 * take a moment); the store answers through promises, as the table does.
 */
export function createGoldenStore(options: GoldenStoreOptions): GoldenStore {
  const sets: GoldenSets = {
    dir: options.dir,
    anchorSize: options.anchorSize,
    clock: options.clock,
    log: options.logger.child({ module: 'golden' }),
    states: new Map(),
    dirty: new Set(),
  };
  const file = (persona: string, set: GoldenSetKind) =>
    set === 'anchor' ? anchorPath(sets, persona) : setPath(sets, persona);
  return {
    path: (persona) => setPath(sets, persona),
    anchorPath: (persona) => anchorPath(sets, persona),
    personas: async () => personasIn(sets.dir),
    repair: async () => repairSets(sets),
    has: async (persona, contentHash) => loadSet(sets, persona).hashes.has(contentHash),
    append: async (persona, samples) => appendSamples(sets, persona, samples),
    remove: async (interactionIds) => removeInteractions(sets, interactionIds),
    removeMembers: async (userIds) => removeMembers(sets, userIds),
    removeFromSet: async (persona, interactionIds) => removeFromSet(sets, persona, interactionIds),
    flush: async () => flushSets(sets),
    manifest: async (persona) => currentManifest(sets, persona),
    contents: async (persona, maxBytes) => tailOfWholeLines(setPath(sets, persona), maxBytes),
    newest: async (persona, n) => newestSamples(sets, persona, n),
    lines: (persona, set) => wholeLines(file(persona, set)),
    close: async () => {},
  };
}
