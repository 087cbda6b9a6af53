import type pg from 'pg';
import { lockKey } from './postgresDatabase.ts';

/** The lock every schema change takes, ours (`migrate`) and the packages' own setups alike. */
export const MIGRATIONS_LOCK = 'bat-os:migrations';

/**
 * Runs a package's own schema setup (LangGraph's `saver.setup()`, keyv's `CREATE TABLE IF NOT
 * EXISTS`) while this process holds the migrations' lock. Those setups create their schema and
 * tables with no lock of their own: two processes starting together would both create them, and
 * one of them fail on the other's half-made table. The lock is a session lock on a connection of
 * `pool` kept for the purpose, because the setup runs its statements on connections of its own.
 */
export async function underSetupLock<T>(pool: pg.Pool, setup: () => Promise<T>): Promise<T> {
  const client = await pool.connect();
  const key = lockKey(MIGRATIONS_LOCK);
  let broken: Error | undefined;
  try {
    await client.query('SELECT pg_advisory_lock($1::bigint)', [key]);
    try {
      return await setup();
    } finally {
      await client.query('SELECT pg_advisory_unlock($1::bigint)', [key]).catch((error: Error) => {
        broken = error;
      });
    }
  } finally {
    // A connection that could not let go of the lock is closed, and the lock with it.
    client.release(broken);
  }
}
