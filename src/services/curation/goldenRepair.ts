import { isManifestStale, writeManifest } from './goldenManifest.ts';
import { forgetIfChanged, type GoldenSets, personasIn, setPath } from './goldenSets.ts';
import { cutTornTail } from './lineFile.ts';

/**
 * The repair at a start (under the writer's lease): cuts the torn last line a kill in the middle
 * of an append left, and writes again every manifest (and anchor) that no longer matches its set,
 * another process's changes included. Returns the lines cut, by persona.
 */
export function repairSets(sets: GoldenSets): Record<string, number> {
  const cut: Record<string, number> = {};
  for (const persona of personasIn(sets.dir)) {
    forgetIfChanged(sets, persona);
    const bytes = cutTornTail(setPath(sets, persona));
    if (bytes > 0) {
      cut[persona] = 1;
      sets.states.delete(persona);
      sets.log.warn(
        { persona, bytes },
        'cut a torn last line from a golden dataset (a write was interrupted)',
      );
    }
    if (bytes > 0 || isManifestStale(sets, persona)) {
      writeManifest(sets, persona, bytes > 0 ? 1 : 0);
      sets.dirty.delete(persona);
    }
  }
  return cut;
}
