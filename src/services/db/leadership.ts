import pg from 'pg';
import { lockKey } from './postgresDatabase.ts';

/**
 * Which process runs a job that must run once across all of them (curation, fine-tuning, the
 * motivator, memory snapshots). With PostgreSQL, the process that holds the job's advisory lock:
 * a session lock, on one connection kept for it, so it lasts while the process lives and dies
 * with its connection (a killed process frees its jobs for the others at their next tick).
 * Without PostgreSQL there is one process, and it runs everything.
 */
export interface Leadership {
  /** Whether this process runs `job`: true if it holds the job's lock or takes it now. */
  leads(job: string): Promise<boolean>;
  /** Lets go of `job`'s lock, if held, keeping the others (a stopped scheduler hands its jobs over at once). */
  release(job: string): Promise<void>;
  /** Lets go of every lock. */
  close(): Promise<void>;
}

/** One process: it runs every job. */
export const soleLeadership: Leadership = {
  leads: async () => true,
  release: async () => {},
  close: async () => {},
};

export function createPostgresLeadership(
  url: string,
  options: { onError?: (error: Error) => void } = {},
): Leadership {
  let client: pg.Client | undefined;
  let connecting: Promise<pg.Client> | undefined;
  const held = new Set<string>();
  let closed = false;

  const lost = (error: Error) => {
    // The connection is gone, and the locks with it: another process may take them now.
    held.clear();
    client = undefined;
    connecting = undefined;
    options.onError?.(error);
  };

  const connection = (): Promise<pg.Client> => {
    if (client) return Promise.resolve(client);
    connecting ??= (async () => {
      const next = new pg.Client({ connectionString: url });
      next.on('error', lost);
      try {
        await next.connect();
      } catch (error) {
        connecting = undefined;
        throw error;
      }
      client = next;
      return next;
    })();
    return connecting;
  };

  return {
    async leads(job) {
      if (closed) return false;
      if (held.has(job) && client) return true;
      try {
        const db = await connection();
        const row = await db.query<{ taken: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS taken', [
          lockKey(`bat-os:job:${job}`),
        ]);
        if (row.rows[0]?.taken) held.add(job);
        return held.has(job);
      } catch (error) {
        // No database, no certainty that nobody else runs it: this process does not. The
        // connection is closed too: one that failed only this query would go on holding the
        // locks this process now forgets, and no process could take them again.
        const current = client;
        lost(error as Error);
        await current?.end().catch(() => {});
        return false;
      }
    },
    async release(job) {
      if (!held.delete(job) || !client) return;
      // A session lock taken once (`leads` asks only while it is not held) is let go by one unlock.
      await client
        .query('SELECT pg_advisory_unlock($1::bigint)', [lockKey(`bat-os:job:${job}`)])
        .catch((error: unknown) => lost(error as Error));
    },
    async close() {
      closed = true;
      held.clear();
      const current = client;
      client = undefined;
      await current?.end().catch(() => {});
    },
  };
}
