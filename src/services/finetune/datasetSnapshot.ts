import { existsSync, readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { createRunningSha256, type RunningSha256, sha256 } from '../../shared/hash.ts';
import type { GoldenReader, GoldenSetKind } from '../curation/goldenStore.ts';
import { wholeLines } from '../curation/lineFile.ts';
import { writeFileDurablyAsync } from '../durableWrite.ts';
import { admitSamples, type SnapshotPolicy } from './snapshotPolicy.ts';

/**
 * A fine-tune's dataset, frozen: the persona's golden set and its anchor set copied into the
 * job's folder with their hash, a share of the golden set held out for the evaluation (never
 * trained on), the anchor set always trained on. The sets are read through the golden store
 * (`curation/goldenStore.ts`): files under `DATA_DIR/golden`, or a table with `DATABASE_URL`; the
 * files written are the same either way.
 *
 * A golden set may hold tens of thousands of samples, and the bot goes on serving dialogues
 * while a job starts: the sets are read as streams, and hashed, sorted and written a slice at a
 * time, the event loop turning between slices (20,000 samples frozen in one go held it for
 * seconds).
 */

/** Samples handled between two turns of the event loop while a set is hashed, sorted or written. */
const SLICE = 500;

/** Lets the event loop turn once every slice: `handled` is how many items were handled so far. */
export async function turnEachSlice(handled: number): Promise<void> {
  if (handled % SLICE === 0) await nextTurn();
}

/** One golden sample as curation writes it (a line of `DATA_DIR/golden/<persona>.jsonl`, or a row of its table). */
export interface GoldenSample {
  messages: Array<{ role: 'system' | 'user' | 'assistant'; content: string }>;
  meta?: Record<string, unknown>;
}

/** Where a persona's golden set and anchor set are, when they are files. */
export const goldenPaths = (dataDir: string, persona: string) => ({
  golden: join(dataDir, 'golden', `${persona}.jsonl`),
  anchor: join(dataDir, 'golden', `${persona}.anchor.jsonl`),
});

/**
 * The golden sets as files under `dataDir` (the default, without `DATABASE_URL`), for a reader
 * given no golden store: the same lines the store's files give.
 */
export const goldenFiles = (dataDir: string): GoldenReader => ({
  lines: (persona, set) => wholeLines(goldenPaths(dataDir, persona)[set]),
});

/** The sample a JSONL line holds; undefined for a torn or foreign line (curation repairs the file). */
function sampleOf(line: string): GoldenSample | undefined {
  if (!line.trim()) return undefined;
  try {
    const sample = JSON.parse(line) as GoldenSample;
    if (Array.isArray(sample.messages) && sample.messages.some((m) => m.role === 'assistant')) return sample;
  } catch {
    // A torn last line after a crash: not a sample.
  }
  return undefined;
}

/** The samples of a JSONL file; a torn or foreign line is skipped (curation repairs the file). */
export function readSamples(path: string): GoldenSample[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .flatMap((line) => sampleOf(line) ?? []);
}

/** A persona's golden set and anchor set, as read. */
export interface GoldenSets {
  golden: GoldenSample[];
  anchor: GoldenSample[];
}

/**
 * A persona's golden set and anchor set, read through the golden store (files or a table) as
 * streams of lines; a line that is no sample is skipped, as in a file.
 */
export async function readGoldenSets(golden: GoldenReader, persona: string): Promise<GoldenSets> {
  const read = async (set: GoldenSetKind) => {
    const samples: GoldenSample[] = [];
    for await (const line of golden.lines(persona, set)) {
      const sample = sampleOf(line);
      if (sample) samples.push(sample);
    }
    return samples;
  };
  return { golden: await read('golden'), anchor: await read('anchor') };
}

const hashOf = (sample: GoldenSample) => sha256(JSON.stringify(sample.messages));

/** A sample's content hash (its messages), by which a snapshot de-duplicates and an exam remembers it. */
export const sampleHash = hashOf;

/**
 * Whether a sample is held out: decided by its content hash, so a sample stays on the same side
 * of the split in every later fine-tune (a held-out prompt is never trained on, ever).
 */
export function isHeldOut(sample: GoldenSample, share: number): boolean {
  return heldOutBy(hashOf(sample), share);
}

/** Whether a sample of this content hash is held out. */
const heldOutBy = (hash: string, share: number) =>
  Number.parseInt(hash.slice(0, 8), 16) / 0x1_0000_0000 < share;

export interface DatasetSnapshot {
  /** `train.jsonl` and `holdout.jsonl` in the job's folder. */
  trainPath: string;
  holdoutPath: string;
  /** sha256 of the two files together: the dataset's identity in the lineage. */
  hash: string;
  train: number;
  holdout: GoldenSample[];
  anchor: number;
  /** Golden samples (anchor aside) at the time of the snapshot. */
  golden: number;
  /** Samples of the sets left out of the dataset: outside `CURATION_SCOPE`, over `FINETUNE_MEMBER_SHARE`. */
  leftOut: { scope: number; share: number };
}

/** By default a snapshot takes what the defaults of `CURATION_SCOPE` and `FINETUNE_MEMBER_SHARE` allow. */
const DEFAULT_POLICY: SnapshotPolicy = { scope: 'public', memberShare: 0.25 };

/** The samples with each content once, the first of each kept (`hashes`: each sample's content hash). */
function uniqueSamples(samples: readonly GoldenSample[], hashes: Map<GoldenSample, string>): GoldenSample[] {
  const seen = new Set<string>();
  return samples.filter((sample) => {
    const hash = hashes.get(sample) as string;
    if (seen.has(hash)) return false;
    seen.add(hash);
    return true;
  });
}

/** Each sample's content hash, a slice at a time. */
async function hashesOf(samples: readonly GoldenSample[]): Promise<Map<GoldenSample, string>> {
  const hashes = new Map<GoldenSample, string>();
  for (const sample of samples) {
    hashes.set(sample, hashOf(sample));
    await turnEachSlice(hashes.size);
  }
  return hashes;
}

/**
 * Writes samples as JSON lines durably (`writeFileDurablyAsync`), a slice at a time, feeding
 * the running hash with exactly the bytes written.
 */
function writeSamples(path: string, samples: readonly GoldenSample[], hash: RunningSha256): Promise<void> {
  return writeFileDurablyAsync(path, async (temporary) => {
    const file = await open(temporary, 'w');
    try {
      for (let start = 0; start < samples.length; start += SLICE) {
        const text = samples
          .slice(start, start + SLICE)
          .map((sample) => `${JSON.stringify(sample)}\n`)
          .join('');
        hash.update(text);
        await file.writeFile(text);
      }
    } finally {
      await file.close();
    }
  });
}

/** Freezes a persona's dataset into `folder`, with what the policy admits (see snapshotPolicy). */
export async function snapshotDataset(options: {
  /** Where the sets are read: the golden store (default: the files under `dataDir`). */
  golden?: GoldenReader;
  /** The sets as already read (a job reads them once, for its exam and its dataset); else read here. */
  sets?: GoldenSets;
  dataDir: string;
  persona: string;
  folder: string;
  holdoutShare: number;
  /** Samples never trained on, whatever the share says (the persona's exam): they join the held-out side. */
  exclude?: (sample: GoldenSample) => boolean;
  policy?: SnapshotPolicy;
}): Promise<DatasetSnapshot> {
  const { golden, anchor } =
    options.sets ?? (await readGoldenSets(options.golden ?? goldenFiles(options.dataDir), options.persona));
  const hashes = await hashesOf([...anchor, ...golden]);
  // Each content once, the anchor set first: within a member's share, their anchor samples stay.
  const admitted = admitSamples(
    uniqueSamples([...anchor, ...golden], hashes),
    options.policy ?? DEFAULT_POLICY,
  );
  const kept = new Set(admitted.kept);
  const train: GoldenSample[] = [];
  const holdout: GoldenSample[] = [];
  let handled = 0;
  for (const sample of anchor) {
    if (kept.has(sample)) (options.exclude?.(sample) ? holdout : train).push(sample);
    await turnEachSlice(++handled);
  }
  for (const sample of golden) {
    if (kept.has(sample)) {
      const out = options.exclude?.(sample) || heldOutBy(hashes.get(sample) as string, options.holdoutShare);
      (out ? holdout : train).push(sample);
    }
    await turnEachSlice(++handled);
  }
  const trainPath = join(options.folder, 'train.jsonl');
  const holdoutPath = join(options.folder, 'holdout.jsonl');
  // The dataset's hash: of the two files' bytes, the training set's first.
  const hash = createRunningSha256();
  await writeSamples(trainPath, train, hash);
  await writeSamples(holdoutPath, holdout, hash);
  return {
    trainPath,
    holdoutPath,
    hash: hash.digest(),
    train: train.length,
    holdout,
    anchor: anchor.filter((sample) => kept.has(sample)).length,
    golden: golden.length,
    leftOut: { scope: admitted.outOfScope, share: admitted.overShare },
  };
}

/** How many golden samples a persona has now (anchor aside). */
export function goldenCount(dataDir: string, persona: string): number {
  return readSamples(goldenPaths(dataDir, persona).golden).length;
}
