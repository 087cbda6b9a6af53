import { createRunningSha256 } from '../../shared/hash.ts';
import type { SqlSession } from '../db/sqlDatabase.ts';
import { type GoldenManifest, MANIFEST_FORMAT, manifestFrom } from './goldenManifest.ts';
import { anchorFile, type NewestSample, readSample } from './goldenSets.ts';

/**
 * A set's manifest and anchor in the table (`goldenTable.ts`), made as the files' are: the same
 * fields, and the sizes and digests of the file the set would be (its lines, each with its
 * newline, in order), so a set reads the same whichever way it is kept.
 */

/** A persona's row in `golden_sets`. */
export interface SetRow {
  manifest: string | null;
  changed: number;
  anchor_frozen: number;
  anchor_size: number | null;
}

/** Rows read at a time when a set is gone through. */
export const PAGE = 1000;

/** What the rows of a set come to, and of its anchor. */
interface SetTally {
  samples: number;
  bytes: number;
  sha256: string;
  newest: NewestSample | null;
  totals: Record<string, number>;
  anchor: { samples: number; sha256: string };
}

/** Goes through a set's rows in order, a page at a time, counting and hashing them. */
async function tallySet(session: SqlSession, persona: string): Promise<SetTally> {
  const hash = createRunningSha256();
  const anchorHash = createRunningSha256();
  const totals = new Map<number, number>();
  let samples = 0;
  let bytes = 0;
  let anchored = 0;
  let last: string | undefined;
  for (let after = 0; ; ) {
    const rows = await session.all<{
      seq: number;
      line: string;
      bytes: number;
      total: number;
      anchor: number;
    }>(
      'SELECT seq, line, bytes, total, anchor FROM golden_samples WHERE persona = ? AND seq > ? ORDER BY seq LIMIT ?',
      [persona, after, PAGE],
    );
    for (const row of rows) {
      hash.update(row.line);
      hash.update('\n');
      if (row.anchor === 1) {
        anchorHash.update(row.line);
        anchorHash.update('\n');
        anchored++;
      }
      samples++;
      bytes += row.bytes + 1;
      totals.set(row.total, (totals.get(row.total) ?? 0) + 1);
      last = row.line;
      after = row.seq;
    }
    if (rows.length < PAGE) break;
  }
  const meta = last === undefined ? undefined : readSample(Buffer.from(last))?.meta;
  return {
    samples,
    bytes,
    sha256: hash.digest(),
    newest: meta
      ? { interaction_id: meta.interaction_id, content_hash: meta.content_hash, curated_at: meta.curated_at }
      : null,
    totals: Object.fromEntries([...totals.entries()].sort((a, b) => a[0] - b[0])),
    anchor: { samples: anchored, sha256: anchorHash.digest() },
  };
}

/** The manifest last written for a set, when there is one of this format. */
function storedManifest(row: Pick<SetRow, 'manifest'>): GoldenManifest | undefined {
  if (!row.manifest) return undefined;
  const manifest = JSON.parse(row.manifest) as GoldenManifest;
  return manifest.format === MANIFEST_FORMAT ? manifest : undefined;
}

/** A persona's row in `golden_sets` and the manifest last written for it; undefined when it has no set. */
async function setOf(
  session: SqlSession,
  persona: string,
): Promise<{ row: SetRow; previous: GoldenManifest | undefined } | undefined> {
  const row = await session.get<SetRow>('SELECT * FROM golden_sets WHERE persona = ?', [persona]);
  return row && { row, previous: storedManifest(row) };
}

/** The manifest of what the rows hold (`tally`); a row holds a sample, always: nothing in a table is unreadable. */
const manifestOf = (
  persona: string,
  tally: SetTally,
  previous: GoldenManifest | undefined,
  anchor: { size: number; frozen: boolean },
  updatedAt: string,
): GoldenManifest =>
  manifestFrom(
    persona,
    { ...tally, unreadable: 0 },
    {
      repairedLines: previous?.repaired_lines ?? 0,
      anchor: {
        file: anchorFile(persona),
        samples: tally.anchor.samples,
        size: anchor.size,
        frozen: anchor.frozen,
        sha256: tally.anchor.sha256,
      },
      updatedAt,
    },
  );

/**
 * The anchor while it fills: the set's first `anchorSize` samples marked; once it holds that
 * many, frozen (a forget may still remove some, and nothing refills it). Returns whether it is
 * frozen now and the size it filled to.
 */
async function settleAnchor(
  session: SqlSession,
  persona: string,
  row: SetRow,
  anchorSize: number,
): Promise<{ frozen: boolean; size: number }> {
  if (row.anchor_frozen === 1 || anchorSize === 0)
    return { frozen: row.anchor_frozen === 1, size: row.anchor_size ?? anchorSize };
  await session.run(
    `UPDATE golden_samples SET anchor = CASE WHEN seq IN
       (SELECT seq FROM golden_samples WHERE persona = ? ORDER BY seq LIMIT ?) THEN 1 ELSE 0 END
       WHERE persona = ?`,
    [persona, anchorSize, persona],
  );
  const counted = await session.get<{ n: number }>(
    'SELECT COUNT(*) AS n FROM golden_samples WHERE persona = ? AND anchor = 1',
    [persona],
  );
  const frozen = (counted?.n ?? 0) >= anchorSize;
  await session.run('UPDATE golden_sets SET anchor_frozen = ?, anchor_size = ? WHERE persona = ?', [
    frozen ? 1 : 0,
    anchorSize,
    persona,
  ]);
  return { frozen, size: anchorSize };
}

/** Fills the set's anchor and writes its manifest (the lease held, in a transaction). */
export async function writeTableManifest(
  session: SqlSession,
  persona: string,
  options: { anchorSize: number; now: number },
): Promise<GoldenManifest | undefined> {
  const set = await setOf(session, persona);
  if (!set) return undefined;
  const anchorState = await settleAnchor(session, persona, set.row, options.anchorSize);
  const tally = await tallySet(session, persona);
  const manifest = manifestOf(
    persona,
    tally,
    set.previous,
    {
      size: anchorState.size,
      frozen: anchorState.frozen || tally.anchor.samples >= options.anchorSize,
    },
    new Date(options.now).toISOString(),
  );
  await session.run('UPDATE golden_sets SET manifest = ?, changed = 0 WHERE persona = ?', [
    JSON.stringify(manifest),
    persona,
  ]);
  return manifest;
}

/** A set's manifest, current: the one written, or (appended to since) made from the rows without writing it. */
export async function currentTableManifest(
  session: SqlSession,
  persona: string,
  options: { anchorSize: number; now: number },
): Promise<GoldenManifest | undefined> {
  const set = await setOf(session, persona);
  if (!set) return undefined;
  const { row, previous } = set;
  if (previous && row.changed === 0) return previous;
  // Read only (no lease): what the rows hold now.
  const tally = await tallySet(session, persona);
  return manifestOf(
    persona,
    tally,
    previous,
    {
      size: previous?.anchor.size ?? options.anchorSize,
      frozen: previous?.anchor.frozen ?? tally.anchor.samples >= options.anchorSize,
    },
    previous?.updated_at ?? new Date(options.now).toISOString(),
  );
}
