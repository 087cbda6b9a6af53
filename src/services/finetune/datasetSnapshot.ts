import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sha256 } from '../../shared/hash.ts';
import { writeFileDurably } from '../durableWrite.ts';
import { admitSamples, type SnapshotPolicy } from './snapshotPolicy.ts';

/**
 * A fine-tune's dataset, frozen: the persona's golden set and its anchor set copied into the
 * job's folder with their hash, a share of the golden set held out for the evaluation (never
 * trained on), the anchor set always trained on.
 */

/** One golden sample as curation writes it (`DATA_DIR/golden/<persona>.jsonl`). */
export interface GoldenSample {
  messages: Array<{ role: 'system' | 'user' | 'assistant'; content: string }>;
  meta?: Record<string, unknown>;
}

/** Where a persona's golden set and anchor set are. */
export const goldenPaths = (dataDir: string, persona: string) => ({
  golden: join(dataDir, 'golden', `${persona}.jsonl`),
  anchor: join(dataDir, 'golden', `${persona}.anchor.jsonl`),
});

/** The samples of a JSONL file; a torn or foreign line is skipped (curation repairs the file). */
export function readSamples(path: string): GoldenSample[] {
  if (!existsSync(path)) return [];
  const samples: GoldenSample[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      const sample = JSON.parse(line) as GoldenSample;
      if (Array.isArray(sample.messages) && sample.messages.some((m) => m.role === 'assistant'))
        samples.push(sample);
    } catch {
      // A torn last line after a crash: not a sample.
    }
  }
  return samples;
}

const hashOf = (sample: GoldenSample) => sha256(JSON.stringify(sample.messages));

/** A sample's content hash (its messages), by which a snapshot de-duplicates and an exam remembers it. */
export const sampleHash = hashOf;

/**
 * Whether a sample is held out: decided by its content hash, so a sample stays on the same side
 * of the split in every later fine-tune (a held-out prompt is never trained on, ever).
 */
export function isHeldOut(sample: GoldenSample, share: number): boolean {
  return Number.parseInt(hashOf(sample).slice(0, 8), 16) / 0x1_0000_0000 < share;
}

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

/** The samples with each content once, the first of each kept. */
function uniqueSamples(samples: readonly GoldenSample[]): GoldenSample[] {
  const seen = new Set<string>();
  return samples.filter((sample) => {
    const hash = hashOf(sample);
    if (seen.has(hash)) return false;
    seen.add(hash);
    return true;
  });
}

/** Freezes a persona's dataset into `folder`, with what the policy admits (see snapshotPolicy). */
export function snapshotDataset(options: {
  dataDir: string;
  persona: string;
  folder: string;
  holdoutShare: number;
  /** Samples never trained on, whatever the share says (the persona's exam): they join the held-out side. */
  exclude?: (sample: GoldenSample) => boolean;
  policy?: SnapshotPolicy;
}): DatasetSnapshot {
  const paths = goldenPaths(options.dataDir, options.persona);
  const golden = readSamples(paths.golden);
  const anchor = readSamples(paths.anchor);
  // Each content once, the anchor set first: within a member's share, their anchor samples stay.
  const admitted = admitSamples(uniqueSamples([...anchor, ...golden]), options.policy ?? DEFAULT_POLICY);
  const kept = new Set(admitted.kept);
  const train: GoldenSample[] = [];
  const holdout: GoldenSample[] = [];
  for (const sample of anchor) {
    if (kept.has(sample)) (options.exclude?.(sample) ? holdout : train).push(sample);
  }
  for (const sample of golden) {
    if (!kept.has(sample)) continue;
    (options.exclude?.(sample) || isHeldOut(sample, options.holdoutShare) ? holdout : train).push(sample);
  }
  const lines = (samples: GoldenSample[]) => samples.map((s) => `${JSON.stringify(s)}\n`).join('');
  const trainText = lines(train);
  const holdoutText = lines(holdout);
  const trainPath = join(options.folder, 'train.jsonl');
  const holdoutPath = join(options.folder, 'holdout.jsonl');
  writeFileDurably(trainPath, trainText);
  writeFileDurably(holdoutPath, holdoutText);
  return {
    trainPath,
    holdoutPath,
    hash: sha256(trainText + holdoutText),
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
