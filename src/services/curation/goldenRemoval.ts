import { writeManifest } from './goldenManifest.ts';
import {
  anchorPath,
  forgetIfChanged,
  type GoldenSets,
  personasIn,
  readSample,
  type SetState,
  setPath,
} from './goldenSets.ts';
import { rewriteWithout } from './lineFile.ts';
import type { GoldenSample } from './sample.ts';

/**
 * `/memory forget` and `/curate forget member:` in the golden sets: every sample of the forgotten
 * interactions (and every sample that recalled one), or that holds a forgotten member's words,
 * leaves every set and anchor, each file rewritten durably, its manifest written again.
 */

/**
 * Whether a line is a sample `matches` picks. Only a line that holds one of the ids as bytes is
 * parsed: a forget reads the set at disk speed.
 */
function sampleOfAny(
  ids: ReadonlySet<string>,
  matches: (meta: GoldenSample['meta']) => boolean,
): (line: Buffer) => boolean {
  const needles = [...ids].map((id) => Buffer.from(JSON.stringify(id)));
  return (line) => {
    if (!needles.some((needle) => line.includes(needle))) return false;
    const sample = readSample(line);
    return sample !== undefined && matches(sample.meta);
  };
}

/** Removes every sample of these interactions, or that recalled one, from every set and anchor; returns what went, by persona. */
export function removeInteractions(
  sets: GoldenSets,
  interactionIds: ReadonlySet<string>,
): Record<string, { samples: number; anchor: number }> {
  const drops = sampleOfAny(
    interactionIds,
    (meta) =>
      interactionIds.has(meta.interaction_id) || (meta.recalled ?? []).some((id) => interactionIds.has(id)),
  );
  // A set read into memory that holds none of them is left unread.
  return removeWhere(sets, interactionIds, drops, (state) =>
    [...interactionIds].some((id) => state.interactions.has(id)),
  );
}

/** Removes every sample that holds one of these members' words from every set and anchor; returns what went, by persona. */
export function removeMembers(
  sets: GoldenSets,
  userIds: ReadonlySet<string>,
): Record<string, { samples: number; anchor: number }> {
  const drops = sampleOfAny(userIds, (meta) => (meta.members ?? []).some((id) => userIds.has(id)));
  return removeWhere(sets, userIds, drops, () => true);
}

/**
 * Rewrites every set and anchor without the lines `drops` picks; a set already read into memory
 * that `touches` says holds none of them is left unread.
 */
function removeWhere(
  sets: GoldenSets,
  ids: ReadonlySet<string>,
  drops: (line: Buffer) => boolean,
  touches: (state: SetState) => boolean,
): Record<string, { samples: number; anchor: number }> {
  const removed: Record<string, { samples: number; anchor: number }> = {};
  if (ids.size === 0) return removed;
  for (const persona of personasIn(sets.dir)) {
    forgetIfChanged(sets, persona);
    const known = sets.states.get(persona);
    const touched = !known || touches(known);
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
  const drops = sampleOfAny(interactionIds, (meta) => interactionIds.has(meta.interaction_id));
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
