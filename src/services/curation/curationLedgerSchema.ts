import type { Migration } from '../db/migrations.ts';

/**
 * The curation ledger's tables (`DATA_DIR/curation.sqlite`, or the `batos_curation` schema in
 * PostgreSQL), as numbered steps. Step 1 is the schema every earlier version created at each
 * start, so a file they wrote reads unchanged; later steps add to it.
 */
export const CURATION_LEDGER_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'cursor, verdicts, forgets, member days, lease',
    up: async (tx) => {
      await tx.exec(`
        CREATE TABLE IF NOT EXISTS cursor (
          id BIGINT PRIMARY KEY CHECK (id = 1),
          seq BIGINT NOT NULL,
          failing_seq BIGINT,
          failures BIGINT NOT NULL DEFAULT 0
        );
        INSERT INTO cursor (id, seq) VALUES (1, 0) ON CONFLICT DO NOTHING;
        CREATE TABLE IF NOT EXISTS verdicts (
          interaction_id TEXT NOT NULL,
          seq BIGINT NOT NULL,
          persona TEXT NOT NULL,
          status TEXT NOT NULL,
          total BIGINT,
          scores TEXT,
          reason TEXT NOT NULL,
          rubric_version TEXT NOT NULL,
          judge TEXT NOT NULL,
          judge_model TEXT NOT NULL,
          kept BIGINT NOT NULL,
          judged_at BIGINT NOT NULL,
          PRIMARY KEY (interaction_id, persona)
        );
        CREATE INDEX IF NOT EXISTS verdicts_persona ON verdicts (persona, status, total);
        CREATE TABLE IF NOT EXISTS forgotten (
          interaction_id TEXT PRIMARY KEY,
          at BIGINT NOT NULL,
          applied BIGINT NOT NULL DEFAULT 0
        );
        CREATE TABLE IF NOT EXISTS member_days (
          user_id TEXT NOT NULL,
          day TEXT NOT NULL,
          added BIGINT NOT NULL DEFAULT 0,
          PRIMARY KEY (user_id, day)
        );
        CREATE TABLE IF NOT EXISTS forgotten_members (
          user_id TEXT PRIMARY KEY,
          at BIGINT NOT NULL,
          applied BIGINT NOT NULL DEFAULT 0
        );
        CREATE TABLE IF NOT EXISTS lease (
          id BIGINT PRIMARY KEY CHECK (id = 1),
          pid BIGINT NOT NULL,
          token TEXT NOT NULL,
          since BIGINT NOT NULL
        );
      `);
    },
  },
  {
    version: 2,
    name: 'the lease expires unless its holder renews it',
    // A pid says nothing across hosts: with PostgreSQL a lease is held until it expires, and its
    // holder renews it while it works (see CurationLedger.acquireLease).
    up: (tx) => tx.exec('ALTER TABLE lease ADD COLUMN expires_at BIGINT'),
  },
];
