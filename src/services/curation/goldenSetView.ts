import type { CurationLedger } from './curationLedger.ts';
import type { GoldenManifest, GoldenStore } from './goldenStore.ts';
import type { GoldenSample } from './sample.ts';

/** The golden sets as the architect sees them: one set for `/curate show`, every set's size for `/status`. */

/** One persona's golden set, for `/curate show`. */
export interface GoldenSetView {
  persona: string;
  manifest: GoldenManifest;
  /** Verdicts for this persona: valid ones by total, and the rest by status. */
  histogram: Awaited<ReturnType<CurationLedger['histogram']>>;
  /** The last samples, newest last. */
  newest: GoldenSample[];
  /** The dataset file to attach: whole, or its newest lines when it is bigger than asked. */
  file: { name: string; data: Buffer; whole: boolean };
  /** Where the set is: its file, or its rows in the database. */
  path: string;
  anchorPath: string;
}

/** A persona's set, or undefined when it has none: its last `newest` samples and at most `fileBytes` of its file. */
export async function showGoldenSet(
  deps: { golden: GoldenStore; ledger: Pick<CurationLedger, 'histogram'> },
  persona: string,
  options: { newest?: number; fileBytes?: number } = {},
): Promise<GoldenSetView | undefined> {
  const { golden } = deps;
  const manifest = await golden.manifest(persona);
  if (!manifest) return undefined;
  return {
    persona,
    manifest,
    histogram: await deps.ledger.histogram(persona),
    newest: await golden.newest(persona, options.newest ?? 3),
    file: {
      name: manifest.file,
      ...(await golden.contents(persona, options.fileBytes ?? Number.MAX_SAFE_INTEGER)),
    },
    path: golden.path(persona),
    anchorPath: golden.anchorPath(persona),
  };
}

/** A set's size: its samples, its anchor's, and whether the anchor is frozen. */
export interface GoldenSetSize {
  persona: string;
  samples: number;
  anchor: number;
  frozen: boolean;
}

/** Every set's size. */
export async function goldenSetSizes(
  golden: Pick<GoldenStore, 'personas' | 'manifest'>,
): Promise<GoldenSetSize[]> {
  const sizes: GoldenSetSize[] = [];
  for (const persona of await golden.personas()) {
    const manifest = await golden.manifest(persona);
    if (manifest)
      sizes.push({
        persona,
        samples: manifest.samples,
        anchor: manifest.anchor.samples,
        frozen: manifest.anchor.frozen,
      });
  }
  return sizes;
}
