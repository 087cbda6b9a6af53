import type { Migration } from '../db/migrations.ts';
import { autoKey } from '../db/sqlStore.ts';

/**
 * The golden sets as tables (with `DATABASE_URL`: the `batos_golden` schema in PostgreSQL):
 * - `golden_samples`: every persona's samples, in the order they came (`seq`), each the JSON
 *   line its file would hold (`line`, and its UTF-8 length `bytes`), once per content hash;
 *   `anchor` marks the anchor set's (the first `CURATION_ANCHOR_SIZE`, frozen once full);
 * - `golden_refs`: what a forget removes a sample by, as rows (no JSON is read in SQL): the
 *   dialogue it comes from (`dialogue`), those its prompts recalled (`recalled`), the members
 *   whose words it holds (`member`);
 * - `golden_sets`: one row a persona with a set: its last manifest, whether it was appended to
 *   since (`changed`), and its anchor's state.
 */
export const GOLDEN_TABLE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'golden samples, their references, the sets',
    up: (tx) =>
      tx.exec(`
        CREATE TABLE IF NOT EXISTS golden_samples (
          ${autoKey(tx)},
          persona TEXT NOT NULL,
          content_hash TEXT NOT NULL,
          total BIGINT NOT NULL,
          bytes BIGINT NOT NULL,
          anchor BIGINT NOT NULL DEFAULT 0,
          line TEXT NOT NULL,
          UNIQUE (persona, content_hash)
        );
        CREATE INDEX IF NOT EXISTS golden_samples_order ON golden_samples (persona, seq);
        CREATE TABLE IF NOT EXISTS golden_refs (
          seq BIGINT NOT NULL,
          kind TEXT NOT NULL CHECK (kind IN ('dialogue', 'recalled', 'member')),
          ref TEXT NOT NULL,
          PRIMARY KEY (seq, kind, ref)
        );
        CREATE INDEX IF NOT EXISTS golden_refs_ref ON golden_refs (ref, kind);
        CREATE TABLE IF NOT EXISTS golden_sets (
          persona TEXT PRIMARY KEY,
          manifest TEXT,
          changed BIGINT NOT NULL DEFAULT 0,
          anchor_frozen BIGINT NOT NULL DEFAULT 0,
          anchor_size BIGINT
        );
      `),
  },
];
