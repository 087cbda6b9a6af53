import { writeManifest } from './goldenManifest.ts';
import {
  anchorPath,
  forgetIfChanged,
  type GoldenSets,
  personasIn,
  readSample,
  setPath,
} from './goldenSets.ts';
import { rewriteWithout } from './lineFile.ts';

/**
 * `/memory forget` in the golden sets: every sample of the forgotten interactions leaves every
 * set and anchor, each file rewritten durably, its manifest written again.
 */

/**
 * Whether a line is a sample of one of these interactions. Only a line that holds one of the ids
 * as bytes is parsed: a forget reads the set at disk speed.
 */
function sampleOfAny(interactionIds: ReadonlySet<string>): (line: Buffer) => boolean {
  const needles = [...interactionIds].map((id) => Buffer.from(JSON.stringify(id)));
  return (line) => {
    if (!needles.some((needle) => line.includes(needle))) return false;
    const sample = readSample(line);
    return sample !== undefined && interactionIds.has(sample.meta.interaction_id);
  };
}

/** Removes every sample of these interactions from every set and anchor; returns what went, by persona. */
export function removeInteractions(
  sets: GoldenSets,
  interactionIds: ReadonlySet<string>,
): Record<string, { samples: number; anchor: number }> {
  const removed: Record<string, { samples: number; anchor: number }> = {};
  if (interactionIds.size === 0) return removed;
  const drops = sampleOfAny(interactionIds);
  for (const persona of personasIn(sets.dir)) {
    forgetIfChanged(sets, persona);
    const known = sets.states.get(persona);
    // A set read into memory that holds none of them is left unread.
    const touched = !known || [...interactionIds].some((id) => known.interactions.has(id));
    const samples = touched ? rewriteWithout(setPath(sets, persona), drops) : 0;
    const anchor = rewriteWithout(anchorPath(sets, persona), drops);
    if (samples === 0 && anchor === 0) continue;
    sets.states.delete(persona);
    removed[persona] = { samples, anchor };
    writeManifest(sets, persona);
    sets.dirty.delete(persona);
  }
  return removed;
}

/**
 * Removes one persona's samples of these interactions from its set and anchor (an architect's 👎
 * withdraws that persona's part of a dialogue, not the others'); returns what went.
 */
export function removeFromSet(
  sets: GoldenSets,
  persona: string,
  interactionIds: ReadonlySet<string>,
): { samples: number; anchor: number } {
  if (interactionIds.size === 0 || !personasIn(sets.dir).includes(persona)) return { samples: 0, anchor: 0 };
  const drops = sampleOfAny(interactionIds);
  forgetIfChanged(sets, persona);
  const samples = rewriteWithout(setPath(sets, persona), drops);
  const anchor = rewriteWithout(anchorPath(sets, persona), drops);
  if (samples > 0 || anchor > 0) {
    sets.states.delete(persona);
    writeManifest(sets, persona);
    sets.dirty.delete(persona);
  }
  return { samples, anchor };
}
