import { existsSync, readFileSync } from 'node:fs';
import { writeFileDurably } from '../durableWrite.ts';
import { type AnchorManifest, anchorAsFound, settleAnchor } from './goldenAnchor.ts';
import {
  forgetIfChanged,
  type GoldenSets,
  loadSet,
  manifestPath,
  type NewestSample,
  type SetState,
  setFile,
  setPath,
  setSize,
} from './goldenSets.ts';

/**
 * A persona's manifest (`<PERSONA>.manifest.json`): count, newest, size and sha256 of the set
 * and of its anchor, written durably after the set changed. `/curate show`, `/status` and the
 * fine-tune's golden count read it instead of the whole set.
 */

/** The value of `format` in every manifest this version writes. */
export const MANIFEST_FORMAT = 'bat-os/golden-manifest@1';

/** What the manifest says of a set (`<PERSONA>.manifest.json`, snake_case like the samples). */
export interface GoldenManifest {
  format: string;
  persona: string;
  /** The dataset's file name, beside the manifest. */
  file: string;
  samples: number;
  bytes: number;
  /** sha256 (hex) of the whole dataset file. */
  sha256: string;
  /** The last sample appended. */
  newest: NewestSample | null;
  /** How many samples have each total score, lowest score first. */
  totals: Record<string, number>;
  /** Torn last lines cut at a start after a kill, all time. */
  repaired_lines: number;
  /** Lines that are not samples (edited by hand?): skipped, kept. */
  unreadable_lines: number;
  anchor: AnchorManifest;
  /** ISO 8601. */
  updated_at: string;
}

/** The manifest on disk, or undefined when there is none or it is of another format. */
function readManifest(sets: GoldenSets, persona: string): GoldenManifest | undefined {
  try {
    const manifest = JSON.parse(readFileSync(manifestPath(sets, persona), 'utf8')) as GoldenManifest;
    return manifest.format === MANIFEST_FORMAT ? manifest : undefined;
  } catch {
    return undefined;
  }
}

/** What a manifest counts of a set, from its file or from its rows. */
export interface SetCounts {
  samples: number;
  bytes: number;
  sha256: string;
  newest: NewestSample | null;
  /** Samples per total score, in order of the score. */
  totals: Record<string, number>;
  unreadable: number;
}

/** A set's manifest: the one place a manifest is made, for a file or a table, written or only shown. */
export function manifestFrom(
  persona: string,
  counts: SetCounts,
  rest: { anchor: AnchorManifest; repairedLines: number; updatedAt: string },
): GoldenManifest {
  return {
    format: MANIFEST_FORMAT,
    persona,
    file: setFile(persona),
    samples: counts.samples,
    bytes: counts.bytes,
    sha256: counts.sha256,
    newest: counts.newest,
    totals: counts.totals,
    repaired_lines: rest.repairedLines,
    unreadable_lines: counts.unreadable,
    anchor: rest.anchor,
    updated_at: rest.updatedAt,
  };
}

/**
 * A set's manifest from what memory holds of its file. The totals are sorted by score so the file
 * reads the same however the samples came.
 */
function manifestOf(
  persona: string,
  state: SetState,
  rest: { anchor: AnchorManifest; repairedLines: number; updatedAt: string },
): GoldenManifest {
  return manifestFrom(
    persona,
    {
      samples: state.samples,
      bytes: state.bytes,
      sha256: state.hash.digest(),
      newest: state.newest,
      totals: Object.fromEntries([...state.totals.entries()].sort((a, b) => a[0] - b[0])),
      unreadable: state.unreadable,
    },
    rest,
  );
}

/** Writes a set's manifest (durably), filling its anchor first; `repaired` torn lines are added to the count. */
export function writeManifest(sets: GoldenSets, persona: string, repaired = 0): GoldenManifest {
  const state = loadSet(sets, persona);
  const previous = readManifest(sets, persona);
  const manifest = manifestOf(persona, state, {
    repairedLines: (previous?.repaired_lines ?? 0) + repaired,
    anchor: settleAnchor(sets, persona, previous?.anchor),
    updatedAt: new Date(sets.clock.now()).toISOString(),
  });
  writeFileDurably(manifestPath(sets, persona), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

/** Whether a set's manifest needs writing: none, of another size than the file, or the set appended to since. */
export function isManifestStale(sets: GoldenSets, persona: string): boolean {
  const manifest = readManifest(sets, persona);
  return !manifest || manifest.bytes !== setSize(sets, persona) || sets.dirty.has(persona);
}

/** A set's manifest, current (made from the file if it changed under it); undefined without a file. */
export function currentManifest(sets: GoldenSets, persona: string): GoldenManifest | undefined {
  if (!existsSync(setPath(sets, persona))) return undefined;
  const manifest = readManifest(sets, persona);
  if (manifest && manifest.bytes === setSize(sets, persona) && !sets.dirty.has(persona)) return manifest;
  // Read only (no lease): what the file holds now, without writing a manifest.
  forgetIfChanged(sets, persona);
  return manifestOf(persona, loadSet(sets, persona), {
    repairedLines: manifest?.repaired_lines ?? 0,
    anchor: anchorAsFound(sets, persona, manifest?.anchor),
    updatedAt: manifest?.updated_at ?? new Date(sets.clock.now()).toISOString(),
  });
}
