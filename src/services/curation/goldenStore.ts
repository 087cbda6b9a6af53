import type { Clock } from '../clock.ts';
import type { Logger } from '../logger.ts';
import { appendSamples } from './goldenAppend.ts';
import { currentManifest, type GoldenManifest, writeManifest } from './goldenManifest.ts';
import { removeFromSet, removeInteractions, removeMembers } from './goldenRemoval.ts';
import { repairSets } from './goldenRepair.ts';
import { anchorPath, type GoldenSets, loadSet, personasIn, readSample, setPath } from './goldenSets.ts';
import { lastLines, tailOfWholeLines } from './lineFile.ts';
import type { GoldenSample } from './sample.ts';

export { type GoldenManifest, MANIFEST_FORMAT } from './goldenManifest.ts';

/**
 * The golden datasets on disk, one set per persona in `DATA_DIR/golden/`:
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
 * set); the store binds them to one folder.
 */

export interface GoldenStoreOptions {
  /** `DATA_DIR/golden`. */
  dir: string;
  /** How many first samples make a persona's anchor set (0: none). */
  anchorSize: number;
  clock: Clock;
  logger: Logger;
}

export interface GoldenStore {
  readonly dir: string;
  /**
   * Cuts torn last lines (a kill during an append) and brings stale manifests and anchors up to
   * date; forgets what it held in memory of a set another process changed. Returns the lines cut,
   * by persona.
   */
  repair(): Record<string, number>;
  /** Appends the samples not already in the set (by content hash); fsyncs before it returns. */
  append(persona: string, samples: readonly GoldenSample[]): { added: number; duplicates: number };
  /** Whether the set already holds a sample with this content hash. */
  has(persona: string, contentHash: string): boolean;
  /** Removes every sample of these interactions, or that recalled one, from every set and anchor (durable rewrites). */
  remove(interactionIds: ReadonlySet<string>): Record<string, { samples: number; anchor: number }>;
  /** Removes every sample that holds one of these members' words from every set and anchor (durable rewrites). */
  removeMembers(userIds: ReadonlySet<string>): Record<string, { samples: number; anchor: number }>;
  /** Removes one persona's samples of these interactions from its set and anchor (durable rewrites). */
  removeFromSet(persona: string, interactionIds: ReadonlySet<string>): { samples: number; anchor: number };
  /** Writes the manifests (and fills the anchors) of the sets appended to since the last flush. */
  flush(): void;
  /** Personas that have a dataset file. */
  personas(): string[];
  /** A set's manifest, current (read again if the file changed under it); undefined without a file. */
  manifest(persona: string): GoldenManifest | undefined;
  /** The last `n` samples of a set, newest last. */
  newest(persona: string, n: number): GoldenSample[];
  /** The set's file, whole lines only, or its last whole lines within `maxBytes` (`whole: false`). */
  contents(persona: string, maxBytes: number): { data: Buffer; whole: boolean };
  path(persona: string): string;
  anchorPath(persona: string): string;
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

export function createGoldenStore(options: GoldenStoreOptions): GoldenStore {
  const sets: GoldenSets = {
    dir: options.dir,
    anchorSize: options.anchorSize,
    clock: options.clock,
    log: options.logger.child({ module: 'golden' }),
    states: new Map(),
    dirty: new Set(),
  };
  return {
    dir: sets.dir,
    path: (persona) => setPath(sets, persona),
    anchorPath: (persona) => anchorPath(sets, persona),
    personas: () => personasIn(sets.dir),
    repair: () => repairSets(sets),
    has: (persona, contentHash) => loadSet(sets, persona).hashes.has(contentHash),
    append: (persona, samples) => appendSamples(sets, persona, samples),
    remove: (interactionIds) => removeInteractions(sets, interactionIds),
    removeMembers: (userIds) => removeMembers(sets, userIds),
    removeFromSet: (persona, interactionIds) => removeFromSet(sets, persona, interactionIds),
    flush: () => flushSets(sets),
    manifest: (persona) => currentManifest(sets, persona),
    contents: (persona, maxBytes) => tailOfWholeLines(setPath(sets, persona), maxBytes),
    newest: (persona, n) => newestSamples(sets, persona, n),
  };
}
