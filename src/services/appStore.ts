import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import KeyvPostgres from '@keyv/postgres';
import KeyvSqlite from '@keyv/sqlite';
import Keyv, { type KeyvStoreAdapter } from 'keyv';
import pg from 'pg';
import { type StoreLocation, schemaName, unreachableDatabase } from './db/openStoreDatabase.ts';
import { describeUrl } from './db/postgresDatabase.ts';
import { underSetupLock } from './db/setupLock.ts';

/**
 * Small durable application state (webhook ids, bot threads, settings): Keyv, on SQLite under
 * `DATA_DIR/state.sqlite` by default, or in PostgreSQL (table `keyv` of the schema
 * `batos_state`) when `DATABASE_URL` is set, so that every process sees the same. Values are JSON.
 */
export interface AppStore {
  get<T>(key: string): Promise<T | undefined>;
  set<T>(key: string, value: T): Promise<void>;
  delete(key: string): Promise<void>;
  /** Where the state lives: the SQLite file, or the server and schema (never a password). */
  readonly path: string;
  close(): Promise<void>;
}

/**
 * Keyv's layout, which every version of this store kept: a table `keyv(key, value)`, each key
 * prefixed with the namespace and a colon, each value Keyv's JSON `{"value":…}` (a string that
 * starts with ":" escaped by doubling the colon). So the files of every earlier version read.
 */
const TABLE = 'keyv';
const NAMESPACE = 'bat-os';
const SQLITE_FILE = 'state.sqlite';
/** The PostgreSQL schema of the state, beside the other stores' `batos_*` schemas. */
export const STATE_SCHEMA = schemaName('state');

/**
 * Opens (creating if need be) the state store where `location` says. A store that cannot be
 * reached fails here, not at its first use. `onError` hears of every failed read or write (which
 * is also rethrown to its caller); `location.onError` of a PostgreSQL connection dropped while idle.
 */
export async function openAppStore(
  location: StoreLocation,
  onError?: (error: unknown) => void,
): Promise<AppStore> {
  const opened = location.databaseUrl
    ? await openPostgres(location.databaseUrl, location.onError)
    : await openSqlite(location.dataDir);
  // Errors are thrown to the caller and reported here, once: Keyv itself would emit a failed
  // write as an event but a failed read not at all.
  const keyv = new Keyv(opened.adapter, { namespace: NAMESPACE, throwOnErrors: true });
  const reported = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      onError?.(error);
      throw error;
    }
  };
  let closing: Promise<void> | undefined;
  return {
    path: opened.where,
    get: <T>(key: string) => reported(async () => ((await keyv.get<T>(key)) ?? undefined) as T | undefined),
    set: (key, value) =>
      reported(async () => {
        await keyv.set(key, value);
      }),
    delete: (key) =>
      reported(async () => {
        await keyv.delete(key);
      }),
    close() {
      closing ??= keyv.disconnect();
      return closing;
    },
  };
}

interface OpenedAdapter {
  adapter: KeyvStoreAdapter;
  where: string;
}

/**
 * `@keyv/sqlite` on the state file, set as the other SQLite stores are (`sqlite.ts`): write-ahead
 * logging with `synchronous = NORMAL` (a write costs microseconds, not an fsync, and survives the
 * bot's crash), a busy timeout for a second process, and `secure_delete`. Journal mode lives in
 * the file; the other two are the connection's, and the adapter keeps one connection.
 */
async function openSqlite(dataDir: string): Promise<OpenedAdapter> {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, SQLITE_FILE);
  const adapter = new KeyvSqlite({ uri: `sqlite://${path}`, table: TABLE, busyTimeout: 5000 });
  try {
    for (const pragma of ['journal_mode = WAL', 'synchronous = NORMAL', 'secure_delete = ON']) {
      await adapter.query(`PRAGMA ${pragma}`);
    }
  } catch (error) {
    await adapter.disconnect().catch(() => undefined);
    throw error;
  }
  return { adapter, where: path };
}

/**
 * `@keyv/postgres` in the schema `batos_state`, on a pool of our own: the adapter's own pool is
 * one per process, shared by every adapter of the same URL (closing one store would close the
 * others'), and it listens for no errors (an idle connection the server dropped would end the
 * process). The adapter's `connect()` is where it takes its connection; we hand it this pool.
 */
async function openPostgres(url: string, onDropped?: (error: Error) => void): Promise<OpenedAdapter> {
  const pool = new pg.Pool({ connectionString: url, max: 4, idleTimeoutMillis: 30_000 });
  pool.on('error', (error) => onDropped?.(error));
  class PooledKeyvPostgres extends KeyvPostgres {
    override async connect() {
      return async (sql: string, values?: unknown[]) => (await pool.query(sql, values)).rows;
    }
    override async disconnect() {
      await pool.end();
    }
  }
  try {
    // The adapter creates its schema and table when it starts: under the lock, once, here.
    await underSetupLock(pool, async () => {
      await pool.query(`CREATE SCHEMA IF NOT EXISTS ${STATE_SCHEMA}`);
      await pool.query(
        `CREATE TABLE IF NOT EXISTS ${STATE_SCHEMA}.${TABLE}(key VARCHAR(255) PRIMARY KEY, value TEXT )`,
      );
    });
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw unreachableDatabase(url, error);
  }
  const adapter = new PooledKeyvPostgres({ uri: url, schema: STATE_SCHEMA, table: TABLE });
  // Its own setup (a no-op now) runs as it starts: let it finish before the store is used or
  // closed (a pool ended under a query still waiting for a connection leaves that query hanging).
  await adapter.query('SELECT 1');
  return { adapter, where: `${describeUrl(url)} (schema ${STATE_SCHEMA})` };
}

/** An in-memory AppStore for unit tests. */
export function createInMemoryAppStore(): AppStore {
  const map = new Map<string, unknown>();
  return {
    path: ':memory:',
    get: async <T>(key: string) => map.get(key) as T | undefined,
    async set(key, value) {
      map.set(key, structuredClone(value));
    },
    async delete(key) {
      map.delete(key);
    },
    async close() {},
  };
}
