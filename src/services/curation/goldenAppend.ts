import { existsSync, mkdirSync } from 'node:fs';
import { syncFolder } from '../durableWrite.ts';
import { account, type GoldenSets, loadSet, setPath } from './goldenSets.ts';
import { appendDurably } from './lineFile.ts';
import type { GoldenSample } from './sample.ts';

/**
 * Appends the samples a set does not hold yet (by content hash, against the set and within the
 * batch) as one durable append: on disk (fsynced, the folder too when the file is new) before it
 * returns. The manifest waits for the next flush.
 */
export function appendSamples(
  sets: GoldenSets,
  persona: string,
  samples: readonly GoldenSample[],
): { added: number; duplicates: number } {
  const state = loadSet(sets, persona);
  const lines: string[] = [];
  const fresh: GoldenSample[] = [];
  const seen = new Set<string>();
  for (const sample of samples) {
    const hash = sample.meta.content_hash;
    if (state.hashes.has(hash) || seen.has(hash)) continue;
    seen.add(hash);
    fresh.push(sample);
    lines.push(JSON.stringify(sample));
  }
  if (fresh.length > 0) {
    const path = setPath(sets, persona);
    mkdirSync(sets.dir, { recursive: true });
    const created = !existsSync(path);
    appendDurably(path, Buffer.from(lines.map((line) => `${line}\n`).join(''), 'utf8'));
    if (created) syncFolder(sets.dir);
    fresh.forEach((sample, i) => {
      account(state, lines[i] ?? '', sample);
    });
    sets.dirty.add(persona);
  }
  return { added: fresh.length, duplicates: samples.length - fresh.length };
}
