import type { Clock } from '../clock.ts';
import { openStoreDatabase, type StoreLocation } from '../db/openStoreDatabase.ts';
import type { SqlDatabase, SqlSession } from '../db/sqlDatabase.ts';
import { SqlStore } from '../db/sqlStore.ts';
import type { GoldenManifest } from './goldenManifest.ts';
import { readSample } from './goldenSets.ts';
import type { GoldenSetKind, GoldenStore } from './goldenStore.ts';
import { currentTableManifest, PAGE, writeTableManifest } from './goldenTableManifest.ts';
import { GOLDEN_TABLE_MIGRATIONS } from './goldenTableSchema.ts';
import type { GoldenSample } from './sample.ts';

/**
 * The golden sets in a table (`goldenTableSchema.ts`), for a bot whose state is in PostgreSQL:
 * every process reads them, and the one that holds the curation lease writes them. A sample is
 * stored as the JSON line its file would hold, so what a snapshot copies, a manifest counts and
 * `/curate show` attaches are the same bytes as with the files. A table has no torn line: an
 * append is one transaction, whole or not at all; `repair` only brings manifests up to date.
 */

/** What a removal took from a persona's set and its anchor. */
type Removed = { samples: number; anchor: number };

/** How a forget picks samples: by the dialogue they come from (and those they recalled), or by member. */
type RefKinds = readonly ('dialogue' | 'recalled' | 'member')[];

/** Parameters in one `IN (…)` list: ids are sent a batch at a time. */
const BATCH = 500;

/** The lock every write of the sets takes (PostgreSQL): a lapsed lease must not let two writes interleave. */
const GOLDEN_LOCK = 'bat-os:golden';

const placeholders = (n: number) => Array.from({ length: n }, () => '?').join(', ');

/** The ids a sample is removed by, as `golden_refs` rows. */
function refsOf(sample: GoldenSample): Array<[RefKinds[number], string]> {
  const { meta } = sample;
  const refs: Array<[RefKinds[number], string]> = [['dialogue', meta.interaction_id]];
  for (const id of new Set(meta.recalled ?? [])) refs.push(['recalled', id]);
  for (const id of new Set(meta.members ?? [])) refs.push(['member', id]);
  return refs;
}

export interface GoldenTableOptions {
  /** How many first samples make a persona's anchor set (0: none). */
  anchorSize: number;
  clock: Clock;
}

export class GoldenTable extends SqlStore implements GoldenStore {
  private constructor(
    db: SqlDatabase,
    private readonly options: GoldenTableOptions,
  ) {
    super(db);
  }

  /** Opens the sets' tables in the location's database and brings their schema up to date. */
  static async open(location: StoreLocation, options: GoldenTableOptions): Promise<GoldenTable> {
    const db = await openStoreDatabase(location, {
      file: 'golden.sqlite',
      schema: 'golden',
      migrations: GOLDEN_TABLE_MIGRATIONS,
    });
    return new GoldenTable(db, options);
  }

  private get settings() {
    return { anchorSize: this.options.anchorSize, now: this.options.clock.now() };
  }

  path(persona: string): string {
    return `${this.where}, table golden_samples, persona ${persona}`;
  }

  anchorPath(persona: string): string {
    return `${this.where}, table golden_samples, persona ${persona}, anchor = 1`;
  }

  async personas(): Promise<string[]> {
    // Sorted here, not by the server's collation: the same order as the files'.
    return (await this.rows<{ persona: string }>('SELECT persona FROM golden_sets'))
      .map((row) => row.persona)
      .sort();
  }

  async has(persona: string, contentHash: string): Promise<boolean> {
    return (
      (await this.row(
        'SELECT 1 AS found FROM golden_samples WHERE persona = ? AND content_hash = ?',
        persona,
        contentHash,
      )) !== undefined
    );
  }

  append(persona: string, samples: readonly GoldenSample[]): Promise<{ added: number; duplicates: number }> {
    return this.transaction(async (tx) => {
      let added = 0;
      for (const sample of samples) {
        const line = JSON.stringify(sample);
        // A content already in the set (or earlier in this batch) is a duplicate: no row.
        const inserted = await tx.get<{ seq: number }>(
          `INSERT INTO golden_samples (persona, content_hash, total, bytes, line) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (persona, content_hash) DO NOTHING RETURNING seq`,
          [persona, sample.meta.content_hash, sample.meta.total, Buffer.byteLength(line), line],
        );
        if (!inserted) continue;
        added++;
        for (const [kind, ref] of refsOf(sample))
          await tx.run('INSERT INTO golden_refs (seq, kind, ref) VALUES (?, ?, ?) ON CONFLICT DO NOTHING', [
            inserted.seq,
            kind,
            ref,
          ]);
      }
      if (added > 0)
        await tx.run(
          `INSERT INTO golden_sets (persona, changed) VALUES (?, 1)
             ON CONFLICT (persona) DO UPDATE SET changed = 1`,
          [persona],
        );
      return { added, duplicates: samples.length - added };
    }, GOLDEN_LOCK);
  }

  async flush(): Promise<void> {
    const changed = await this.rows<{ persona: string }>('SELECT persona FROM golden_sets WHERE changed = 1');
    for (const { persona } of changed)
      await this.transaction((tx) => writeTableManifest(tx, persona, this.settings), GOLDEN_LOCK);
  }

  /** Writes every manifest that is missing or behind its set (a kill between an append and its flush). */
  async repair(): Promise<Record<string, number>> {
    const stale = await this.rows<{ persona: string }>(
      'SELECT persona FROM golden_sets WHERE changed = 1 OR manifest IS NULL',
    );
    for (const { persona } of stale)
      await this.transaction((tx) => writeTableManifest(tx, persona, this.settings), GOLDEN_LOCK);
    return {};
  }

  manifest(persona: string): Promise<GoldenManifest | undefined> {
    return currentTableManifest(this.db, persona, this.settings);
  }

  async newest(persona: string, n: number): Promise<GoldenSample[]> {
    if (n <= 0) return [];
    const rows = await this.rows<{ line: string }>(
      'SELECT line FROM golden_samples WHERE persona = ? ORDER BY seq DESC LIMIT ?',
      persona,
      n,
    );
    return rows.reverse().flatMap((row) => readSample(Buffer.from(row.line)) ?? []);
  }

  async contents(persona: string, maxBytes: number): Promise<{ data: Buffer; whole: boolean }> {
    const lines: string[] = [];
    let size = 0;
    let whole = true;
    // From the newest back: a line is kept while it and those after it fit (as the file's tail is read).
    for (let before = Number.MAX_SAFE_INTEGER; whole; ) {
      const rows = await this.rows<{ seq: number; line: string; bytes: number }>(
        'SELECT seq, line, bytes FROM golden_samples WHERE persona = ? AND seq < ? ORDER BY seq DESC LIMIT ?',
        persona,
        before,
        PAGE,
      );
      for (const row of rows) {
        if (size + row.bytes + 1 > maxBytes) {
          whole = false;
          break;
        }
        size += row.bytes + 1;
        lines.push(row.line);
        before = row.seq;
      }
      if (rows.length < PAGE) break;
    }
    // A window of the file's last `maxBytes` drops the line it starts in, even one that starts it exactly.
    if (!whole && size === maxBytes) lines.pop();
    return {
      data: Buffer.from(
        lines
          .reverse()
          .map((line) => `${line}\n`)
          .join(''),
      ),
      whole,
    };
  }

  async *lines(persona: string, set: GoldenSetKind): AsyncGenerator<string> {
    const anchorOnly = set === 'anchor' ? ' AND anchor = 1' : '';
    for (let after = 0; ; ) {
      const rows = await this.rows<{ seq: number; line: string }>(
        `SELECT seq, line FROM golden_samples WHERE persona = ? AND seq > ?${anchorOnly} ORDER BY seq LIMIT ?`,
        persona,
        after,
        PAGE,
      );
      for (const row of rows) {
        after = row.seq;
        yield row.line;
      }
      if (rows.length < PAGE) return;
    }
  }

  remove(interactionIds: ReadonlySet<string>): Promise<Record<string, Removed>> {
    return this.removeBy(['dialogue', 'recalled'], interactionIds);
  }

  removeMembers(userIds: ReadonlySet<string>): Promise<Record<string, Removed>> {
    return this.removeBy(['member'], userIds);
  }

  async removeFromSet(persona: string, interactionIds: ReadonlySet<string>): Promise<Removed> {
    return (await this.removeBy(['dialogue'], interactionIds, persona))[persona] ?? { samples: 0, anchor: 0 };
  }

  /**
   * Deletes the samples whose references of these kinds name one of `ids` (one persona's only,
   * when named), writes the manifests of the sets that lost some, and then vacuums the tables
   * (what was forgotten must not stay readable in dead rows).
   */
  private async removeBy(kinds: RefKinds, ids: ReadonlySet<string>, persona?: string) {
    if (ids.size === 0) return {};
    const removed = await this.transaction(async (tx) => {
      const gone: Record<string, Removed> = {};
      const all = [...ids];
      for (let start = 0; start < all.length; start += BATCH) {
        const batch = all.slice(start, start + BATCH);
        await deleteSamples(tx, { kinds, ids: batch, persona }, gone);
      }
      for (const name of Object.keys(gone)) await writeTableManifest(tx, name, this.settings);
      return gone;
    }, GOLDEN_LOCK);
    if (Object.keys(removed).length > 0) await this.scrub(['golden_samples', 'golden_refs']);
    return removed;
  }
}

/** Deletes the samples (and their references) one batch of ids picks, counting them by persona into `gone`. */
async function deleteSamples(
  tx: SqlSession,
  pick: { kinds: RefKinds; ids: readonly string[]; persona: string | undefined },
  gone: Record<string, Removed>,
): Promise<void> {
  const rows = await tx.all<{ seq: number; persona: string; anchor: number }>(
    `SELECT seq, persona, anchor FROM golden_samples WHERE seq IN
       (SELECT seq FROM golden_refs WHERE kind IN (${placeholders(pick.kinds.length)})
          AND ref IN (${placeholders(pick.ids.length)}))${pick.persona === undefined ? '' : ' AND persona = ?'}`,
    [...pick.kinds, ...pick.ids, ...(pick.persona === undefined ? [] : [pick.persona])],
  );
  for (let start = 0; start < rows.length; start += BATCH) {
    const seqs = rows.slice(start, start + BATCH).map((row) => row.seq);
    await tx.run(`DELETE FROM golden_refs WHERE seq IN (${placeholders(seqs.length)})`, seqs);
    await tx.run(`DELETE FROM golden_samples WHERE seq IN (${placeholders(seqs.length)})`, seqs);
  }
  for (const row of rows) {
    const sum = gone[row.persona] ?? { samples: 0, anchor: 0 };
    gone[row.persona] = { samples: sum.samples + 1, anchor: sum.anchor + (row.anchor === 1 ? 1 : 0) };
  }
}
