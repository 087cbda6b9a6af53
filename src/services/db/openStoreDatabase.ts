import { AppError } from '../errors.ts';
import { type Migration, migrate } from './migrations.ts';
import { describeUrl, PostgresDatabase } from './postgresDatabase.ts';
import type { SqlDatabase } from './sqlDatabase.ts';
import { SqliteDatabase } from './sqliteDatabase.ts';

/** Where the stores live: SQLite files under `dataDir`, or PostgreSQL when `databaseUrl` is set. */
export interface StoreLocation {
  dataDir: string;
  /** `DATABASE_URL`: every store in this PostgreSQL database, a schema each. */
  databaseUrl?: string | undefined;
  /** Told of a PostgreSQL connection that failed while idle (logged; the pool replaces it). */
  onError?: (error: Error) => void;
}

export interface StoreSpec {
  /** The store's SQLite file under `DATA_DIR` (unchanged from before PostgreSQL), e.g. `proposals.sqlite`. */
  file: string;
  /** Its schema in PostgreSQL, without the `batos_` prefix, e.g. `governance`. */
  schema: string;
  migrations: readonly Migration[];
}

/** The PostgreSQL schema a store's tables live in. */
export const schemaName = (schema: string) => `batos_${schema}`;

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'ECONNRESET',
  '28P01',
  '3D000',
  '28000',
]);

/**
 * Opens a store's database where the location says and brings its schema up to date (under a
 * lock: processes starting together migrate once). An unreachable server or a refused login is
 * a DATABASE_UNREACHABLE error that says what to check.
 */
export async function openStoreDatabase(location: StoreLocation, spec: StoreSpec): Promise<SqlDatabase> {
  if (!location.databaseUrl) {
    const db = SqliteDatabase.open(location.dataDir, spec.file);
    try {
      await migrate(db, spec.migrations);
    } catch (error) {
      await db.close();
      throw error;
    }
    return db;
  }
  const schema = schemaName(spec.schema);
  const db = new PostgresDatabase({
    url: location.databaseUrl,
    schema,
    ...(location.onError ? { onError: location.onError } : {}),
  });
  try {
    await migrate(db, spec.migrations, { schema });
  } catch (error) {
    await db.close();
    throw unreachableDatabase(location.databaseUrl, error);
  }
  return db;
}

/**
 * `error` as a DATABASE_UNREACHABLE error that says what to check when it is a refused
 * connection or login (for the stores whose packages connect by themselves: keyv, LangGraph's
 * saver); any other error as it is.
 */
export function unreachableDatabase(url: string, error: unknown): unknown {
  const code = (error as { code?: string }).code;
  if (!code || !CONNECTION_CODES.has(code)) return error;
  return new AppError(
    'DATABASE_UNREACHABLE',
    'operational',
    `PostgreSQL at ${describeUrl(url)} did not let BAT OS in (${(error as Error).message}): start it, or fix DATABASE_URL (unset it to keep the state in SQLite files under DATA_DIR).`,
    { cause: error },
  );
}

/** The stores' location the settings give (`DATA_DIR`, `DATABASE_URL`); `onError` hears of dropped idle connections. */
export const storeLocation = (
  config: { readonly dataDir: string; readonly databaseUrl?: string | undefined },
  onError?: (error: Error) => void,
): StoreLocation => ({
  dataDir: config.dataDir,
  ...(config.databaseUrl ? { databaseUrl: config.databaseUrl } : {}),
  ...(onError ? { onError } : {}),
});

/** What a store tells the log when PostgreSQL drops one of its idle connections (the pool replaces it). */
export const dropped =
  (logger: { warn(details: object, message: string): void }) =>
  (err: Error): void =>
    logger.warn({ err }, 'database connection dropped');
