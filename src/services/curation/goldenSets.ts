import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createRunningSha256, type RunningSha256 } from '../../shared/hash.ts';
import type { Clock } from '../clock.ts';
import type { Logger } from '../logger.ts';
import { forEachLine } from './lineFile.ts';
import type { GoldenSample, SampleMeta } from './sample.ts';

/**
 * What the golden store keeps in memory of its sets: each set read once (its content hashes for
 * de-duplication, its counts, the running sha256 of its file), dropped again when another process
 * changed the file. Every part of the store takes the {@link GoldenSets} it shares.
 */

/** What a newest sample is known by in the manifest. */
export interface NewestSample {
  interaction_id: string;
  content_hash: string;
  curated_at: string;
}

/** What one persona's set holds in memory once read: de-duplication and the running file hash. */
export interface SetState {
  hashes: Set<string>;
  /** Samples per interaction id they come from or recalled: a forget that touches none of them rewrites nothing. */
  interactions: Map<string, number>;
  samples: number;
  bytes: number;
  /** sha256 of the file so far, readable without a re-read. */
  hash: RunningSha256;
  totals: Map<number, number>;
  newest: NewestSample | null;
  unreadable: number;
}

/** The store's shared parts: where the sets are, what memory holds of them, which changed since the last flush. */
export interface GoldenSets {
  /** `DATA_DIR/golden`. */
  readonly dir: string;
  /** How many first samples make a persona's anchor set (0: none). */
  readonly anchorSize: number;
  readonly clock: Clock;
  readonly log: Logger;
  /** The sets read so far, by persona. */
  readonly states: Map<string, SetState>;
  /** Sets appended to since their manifest was last written. */
  readonly dirty: Set<string>;
}

export const setFile = (persona: string) => `${persona}.jsonl`;
export const anchorFile = (persona: string) => `${persona}.anchor.jsonl`;
export const setPath = (sets: Pick<GoldenSets, 'dir'>, persona: string) => join(sets.dir, setFile(persona));
export const anchorPath = (sets: Pick<GoldenSets, 'dir'>, persona: string) =>
  join(sets.dir, anchorFile(persona));
export const manifestPath = (sets: Pick<GoldenSets, 'dir'>, persona: string) =>
  join(sets.dir, `${persona}.manifest.json`);

/** The size of a set's file now (0 without one). */
export function setSize(sets: Pick<GoldenSets, 'dir'>, persona: string): number {
  const path = setPath(sets, persona);
  return existsSync(path) ? statSync(path).size : 0;
}

/** Personas that have a dataset file, in order. */
export function personasIn(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .flatMap((name) => /^([A-Z][A-Z0-9_]{0,31})\.jsonl$/.exec(name)?.[1] ?? [])
    .sort();
}

/** A line read back as a sample, or undefined when it is not one. */
export function readSample(line: Buffer): GoldenSample | undefined {
  try {
    const value = JSON.parse(line.toString('utf8')) as Partial<GoldenSample>;
    const meta = value?.meta as Partial<SampleMeta> | undefined;
    if (!Array.isArray(value?.messages) || typeof meta?.content_hash !== 'string') return undefined;
    return value as GoldenSample;
  } catch {
    return undefined;
  }
}

function emptyState(): SetState {
  return {
    hashes: new Set(),
    interactions: new Map(),
    samples: 0,
    bytes: 0,
    hash: createRunningSha256(),
    totals: new Map(),
    newest: null,
    unreadable: 0,
  };
}

/** Adds one line (as it is in the file) to a set's state. */
export function account(state: SetState, line: Buffer | string, sample: GoldenSample | undefined): void {
  const bytes = typeof line === 'string' ? Buffer.byteLength(line) : line.length;
  state.hash.update(line);
  state.hash.update('\n');
  state.bytes += bytes + 1;
  if (!sample) {
    state.unreadable++;
    return;
  }
  const { meta } = sample;
  state.samples++;
  state.hashes.add(meta.content_hash);
  for (const id of new Set([meta.interaction_id, ...(meta.recalled ?? [])]))
    state.interactions.set(id, (state.interactions.get(id) ?? 0) + 1);
  state.totals.set(meta.total, (state.totals.get(meta.total) ?? 0) + 1);
  state.newest = {
    interaction_id: meta.interaction_id,
    content_hash: meta.content_hash,
    curated_at: meta.curated_at,
  };
}

/** Reads a set once into memory (hashes, counts, running sha256). */
export function loadSet(sets: GoldenSets, persona: string): SetState {
  const known = sets.states.get(persona);
  if (known) return known;
  const state = emptyState();
  forEachLine(setPath(sets, persona), (line) => account(state, line, readSample(line)));
  sets.states.set(persona, state);
  return state;
}

/** Drops what memory holds of a set whose file another process changed. */
export function forgetIfChanged(sets: GoldenSets, persona: string): void {
  const state = sets.states.get(persona);
  if (state && state.bytes !== setSize(sets, persona)) sets.states.delete(persona);
}
