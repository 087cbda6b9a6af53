import pg from 'pg';
import { sha256 } from '../../shared/hash.ts';
import type { RunResult, SqlDatabase, SqlSession } from './sqlDatabase.ts';

/**
 * PostgreSQL (node-postgres) behind the async port, for state that several processes share.
 * Each store keeps its tables in a schema of its own (`batos_<name>`, the counterpart of its
 * SQLite file), so two stores' tables never meet; its pool's connections start in that schema.
 */

/** PostgreSQL's `int8` (what `BIGINT` and `COUNT(*)` give) read as a number, as SQLite gives it: times in milliseconds and counts fit. */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20 && format !== 'binary') return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

/** Numbers the `?` placeholders `$1`, `$2`… , leaving quoted strings and names alone. */
export function numberPlaceholders(sql: string): string {
  let n = 0;
  return sql.replace(/'(?:[^']|'')*'|"(?:[^"]|"")*"|\?/g, (match) => (match === '?' ? `$${++n}` : match));
}

/** A name as a signed 64-bit advisory-lock key (the lock functions take a bigint). */
export const lockKey = (name: string): string =>
  BigInt.asIntN(64, BigInt(`0x${sha256(name).slice(0, 16)}`)).toString();

const quoteName = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** The URL without its password, for logs. */
export function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = '';
    return parsed.toString();
  } catch {
    return 'postgres (an unreadable URL)';
  }
}

export interface PostgresOptions {
  /** `postgres://user:password@host:port/database` */
  url: string;
  /** The store's schema (created by its first migration run if missing). */
  schema: string;
  /** Connections this store's pool may hold (default 4). */
  max?: number;
  /** Told of a connection that failed while idle (the server restarted): the pool replaces it. */
  onError?: (error: Error) => void;
}

function sessionOf(client: pg.Pool | pg.PoolClient, savepoints = { n: 0 }): SqlSession {
  const query = <T>(sql: string, params: readonly unknown[]) =>
    client.query<T & pg.QueryResultRow>(numberPlaceholders(sql), params as unknown[]);
  const session: SqlSession = {
    dialect: 'postgres',
    all: async <T>(sql: string, params: readonly unknown[] = []) => (await query<T>(sql, params)).rows as T[],
    get: async <T>(sql: string, params: readonly unknown[] = []) =>
      (await query<T>(sql, params)).rows[0] as T | undefined,
    run: async (sql: string, params: readonly unknown[] = []): Promise<RunResult> => ({
      changes: (await query(sql, params)).rowCount ?? 0,
    }),
    exec: async (sql) => {
      await client.query(sql);
    },
    transaction: async <T>(work: (tx: SqlSession) => Promise<T>, options?: { lock?: string }) => {
      const name = `nested_${++savepoints.n}`;
      await client.query(`SAVEPOINT ${name}`);
      try {
        if (options?.lock)
          await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [lockKey(options.lock)]);
        const result = await work(session);
        await client.query(`RELEASE SAVEPOINT ${name}`);
        return result;
      } catch (error) {
        await client.query(`ROLLBACK TO SAVEPOINT ${name}`);
        throw error;
      }
    },
  };
  return session;
}

/**
 * Runs `work` on one of the pool's connections between BEGIN and COMMIT, or ROLLBACK when it
 * throws. A connection that could not roll back is not given to the next caller.
 */
export async function inTransaction<T>(
  pool: pg.Pool,
  work: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    try {
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch((rollback: Error) => {
        broken = rollback;
      });
      throw error;
    }
  } finally {
    client.release(broken);
  }
}

export class PostgresDatabase implements SqlDatabase {
  readonly dialect = 'postgres' as const;
  readonly schema: string;
  readonly where: string;
  private readonly pool: pg.Pool;
  private readonly session: SqlSession;
  private closed = false;

  constructor(options: PostgresOptions) {
    this.schema = options.schema;
    this.where = `${describeUrl(options.url)} (schema ${options.schema})`;
    this.pool = new pg.Pool({
      connectionString: options.url,
      max: options.max ?? 4,
      idleTimeoutMillis: 30_000,
      types,
      // Every connection starts in the store's schema; `public` after it for what extensions keep there.
      options: `-c search_path=${quoteName(options.schema)},public`,
    });
    // An idle connection the server dropped must not crash the process: the pool replaces it.
    this.pool.on('error', (error) => options.onError?.(error));
    this.session = sessionOf(this.pool);
  }

  get open(): boolean {
    return !this.closed;
  }

  all<T>(sql: string, params?: readonly unknown[]): Promise<T[]> {
    return this.session.all<T>(sql, params);
  }

  get<T>(sql: string, params?: readonly unknown[]): Promise<T | undefined> {
    return this.session.get<T>(sql, params);
  }

  run(sql: string, params?: readonly unknown[]): Promise<RunResult> {
    return this.session.run(sql, params);
  }

  exec(sql: string): Promise<void> {
    return this.session.exec(sql);
  }

  transaction<T>(work: (tx: SqlSession) => Promise<T>, options?: { lock?: string }): Promise<T> {
    return inTransaction(this.pool, async (client) => {
      if (options?.lock)
        await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [lockKey(options.lock)]);
      return work(sessionOf(client));
    });
  }

  async scrub(tables: readonly string[]): Promise<boolean> {
    // VACUUM cannot run in a transaction block; each runs on its own.
    for (const table of tables) await this.pool.query(`VACUUM ${quoteName(table)}`);
    return true;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}
