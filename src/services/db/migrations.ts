import { AppError } from '../errors.ts';
import { MIGRATIONS_LOCK } from './setupLock.ts';
import type { SqlDatabase, SqlSession } from './sqlDatabase.ts';

/**
 * A store's schema as numbered steps, applied in order at start and recorded in its
 * `schema_migrations` table, all in one transaction that holds a lock: two processes starting
 * together apply each step once, and a step that fails leaves the schema as it was.
 *
 * Step 1 of a store that existed before migrations creates its tables `IF NOT EXISTS` (and
 * upgrades what earlier versions left), so a file written by an older BAT OS reads unchanged.
 */
export interface Migration {
  /** 1, 2, 3…: never renumber or change a step once released; add the next. */
  version: number;
  /** What it does, in a few words (kept in `schema_migrations`). */
  name: string;
  up(tx: SqlSession): Promise<void>;
}

/** Applies the steps `db` has not had yet; returns their versions. */
export async function migrate(
  db: SqlDatabase,
  migrations: readonly Migration[],
  options: { schema?: string; now?: () => number } = {},
): Promise<number[]> {
  const steps = [...migrations].sort((a, b) => a.version - b.version);
  steps.forEach((step, i) => {
    if (step.version !== i + 1)
      throw new Error(`migrations must be numbered 1, 2, 3…: found ${step.version} at ${i + 1}`);
  });
  const now = options.now ?? Date.now;
  return db.transaction(
    async (tx) => {
      if (tx.dialect === 'postgres' && options.schema)
        await tx.exec(`CREATE SCHEMA IF NOT EXISTS "${options.schema}"`);
      await tx.exec(
        'CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)',
      );
      const done = new Set(
        (await tx.all<{ version: number }>('SELECT version FROM schema_migrations')).map((row) =>
          Number(row.version),
        ),
      );
      const newest = Math.max(0, ...done);
      if (newest > steps.length) {
        throw new AppError(
          'STORE_TOO_NEW',
          'user',
          `${db.where} has schema version ${newest}, newer than this BAT OS knows (${steps.length}): run the newer version, or restore a backup.`,
        );
      }
      const applied: number[] = [];
      for (const step of steps) {
        if (done.has(step.version)) continue;
        await step.up(tx);
        await tx.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [
          step.version,
          step.name,
          now(),
        ]);
        applied.push(step.version);
      }
      return applied;
    },
    { lock: MIGRATIONS_LOCK },
  );
}
