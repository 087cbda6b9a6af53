import type { Migration } from '../db/migrations.ts';
import type { SqlSession } from '../db/sqlDatabase.ts';
import { autoKey } from '../db/sqlStore.ts';

/**
 * The memory's tables (`DATA_DIR/memory.sqlite`, or the `batos_memory` schema in PostgreSQL), as
 * numbered steps. Step 1 is the schema every earlier version created at each start (the
 * dialogues, their vectors, the snapshot's record), with the upgrades it made to older files, so
 * a file they wrote reads unchanged; later steps add to it.
 */

/** The lock under which dialogues are numbered and committed (see `InteractionLog.append`). */
export const DIALOGUE_LOCK = 'bat-os:memory:dialogues';

/** The lock under which vectors and deletions are numbered and committed (see `VectorStore`). */
export const VECTOR_LOCK = 'bat-os:memory:vectors';

/** A fraction in each engine's words: PostgreSQL's REAL is single precision, SQLite's a double. */
const double = (tx: SqlSession) => (tx.dialect === 'postgres' ? 'DOUBLE PRECISION' : 'REAL');

/** A blob in each engine's words (SQLite keeps a buffer as a blob whatever the column says; existing files say BLOB). */
const blob = (tx: SqlSession) => (tx.dialect === 'postgres' ? 'BYTEA' : 'BLOB');

/** Adds the `visibility` column to a log made before it was kept (its records stay without one). */
async function addVisibilityColumn(tx: SqlSession): Promise<void> {
  if (tx.dialect !== 'sqlite') return;
  const columns = await tx.all<{ name: string }>('PRAGMA table_info(dialogues)');
  if (!columns.some((column) => column.name === 'visibility'))
    await tx.exec('ALTER TABLE dialogues ADD COLUMN visibility TEXT');
}

/** Whether the `vectors` table is still to be made (a file from before it existed, or a new store). */
async function vectorsMissing(tx: SqlSession): Promise<boolean> {
  if (tx.dialect === 'postgres')
    return !(await tx.get(
      "SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'vectors'",
    ));
  return !(await tx.get("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'vectors'"));
}

export const MEMORY_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'dialogues, vectors, snapshot record',
    up: async (tx) => {
      await tx.exec(`
        CREATE TABLE IF NOT EXISTS dialogues (
          ${autoKey(tx)},
          id TEXT NOT NULL UNIQUE,
          conversation_id TEXT NOT NULL,
          run BIGINT NOT NULL,
          task TEXT NOT NULL,
          answer TEXT NOT NULL,
          turns TEXT NOT NULL,
          models TEXT NOT NULL,
          trajectory TEXT NOT NULL,
          final_dissonance ${double(tx)},
          user_id TEXT,
          guild_id TEXT,
          channel_id TEXT,
          visibility TEXT,
          codex_version BIGINT NOT NULL,
          started_at BIGINT NOT NULL,
          finished_at BIGINT NOT NULL,
          embedded BIGINT NOT NULL DEFAULT 0
        );
        CREATE INDEX IF NOT EXISTS dialogues_conversation ON dialogues (conversation_id);
        CREATE INDEX IF NOT EXISTS dialogues_finished ON dialogues (finished_at);
        CREATE INDEX IF NOT EXISTS dialogues_pending ON dialogues (embedded) WHERE embedded = 0;
      `);
      await addVisibilityColumn(tx);
      const fresh = await vectorsMissing(tx);
      await tx.exec(`
        CREATE TABLE IF NOT EXISTS vectors (
          ${autoKey(tx)},
          record_id TEXT NOT NULL,
          model TEXT NOT NULL,
          dimension BIGINT NOT NULL,
          vector ${blob(tx)} NOT NULL
        );
        CREATE UNIQUE INDEX IF NOT EXISTS vectors_record ON vectors (record_id);
        CREATE INDEX IF NOT EXISTS vectors_model ON vectors (model, dimension);
        CREATE TABLE IF NOT EXISTS memory_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      `);
      // Before this table existed, `embedded` meant "in the index file": no longer true of any record.
      if (fresh) await tx.run('UPDATE dialogues SET embedded = 0 WHERE embedded = 1');
    },
  },
  {
    version: 2,
    name: 'vector deletions, replayed by every process',
    up: async (tx) => {
      // One row per vector deleted (a forget, a rebuild): another process replays them to drop
      // the labels from its own index, as it replays the vectors added.
      await tx.exec(`
        CREATE TABLE IF NOT EXISTS vector_deletions (
          ${autoKey(tx)},
          record_id TEXT NOT NULL,
          vector_seq BIGINT NOT NULL
        );
      `);
    },
  },
];
