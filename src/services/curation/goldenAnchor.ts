import { existsSync, readFileSync } from 'node:fs';
import { sha256 } from '../../shared/hash.ts';
import { writeFileDurably } from '../durableWrite.ts';
import { anchorFile, anchorPath, type GoldenSets, readSample, setPath } from './goldenSets.ts';
import { forEachLine } from './lineFile.ts';

/**
 * A persona's anchor set (`<PERSONA>.anchor.jsonl`): its golden set's first `CURATION_ANCHOR_SIZE`
 * samples, copied while the set fills and frozen once full, so that every later fine-tune keeps
 * training on them.
 */

/** What the manifest says of the anchor set. */
export interface AnchorManifest {
  file: string;
  samples: number;
  /** `CURATION_ANCHOR_SIZE` when it filled (or now, while it fills). */
  size: number;
  /** Full once: it no longer takes new samples (a forget may still remove some). */
  frozen: boolean;
  sha256: string;
}

/** The anchor's samples and digest as it is on disk. */
function anchorOnDisk(sets: GoldenSets, persona: string): { samples: number; sha256: string; text: string } {
  const path = anchorPath(sets, persona);
  const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
  const lines = text.split('\n').slice(0, -1);
  return { samples: lines.length, sha256: sha256(text), text };
}

/**
 * The anchor while it fills: the set's first samples, written where the file differs; once it
 * holds `anchorSize`, frozen. `previous` is what the last manifest said of it.
 */
export function settleAnchor(
  sets: GoldenSets,
  persona: string,
  previous: AnchorManifest | undefined,
): AnchorManifest {
  const onDisk = anchorOnDisk(sets, persona);
  const file = anchorFile(persona);
  const frozen = (previous?.frozen ?? false) && existsSync(anchorPath(sets, persona));
  if (frozen || sets.anchorSize === 0) {
    return {
      file,
      samples: onDisk.samples,
      size: previous?.size ?? sets.anchorSize,
      frozen: frozen || onDisk.samples >= sets.anchorSize,
      sha256: onDisk.sha256,
    };
  }
  const first: string[] = [];
  forEachLine(setPath(sets, persona), (line) => {
    if (first.length < sets.anchorSize && readSample(line)) first.push(`${line.toString('utf8')}\n`);
  });
  const text = first.join('');
  if (text !== onDisk.text) writeFileDurably(anchorPath(sets, persona), text);
  return {
    file,
    samples: first.length,
    size: sets.anchorSize,
    frozen: first.length >= sets.anchorSize,
    sha256: sha256(text),
  };
}

/** The anchor as it is on disk, read only (no lease): what the last manifest said fills the rest. */
export function anchorAsFound(
  sets: GoldenSets,
  persona: string,
  previous: AnchorManifest | undefined,
): AnchorManifest {
  const anchor = anchorOnDisk(sets, persona);
  return {
    file: anchorFile(persona),
    samples: anchor.samples,
    size: previous?.size ?? sets.anchorSize,
    frozen: previous?.frozen ?? anchor.samples >= sets.anchorSize,
    sha256: anchor.sha256,
  };
}
