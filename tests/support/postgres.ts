import { afterAll } from 'vitest';
import type { StoreLocation } from '../../src/services/db/openStoreDatabase.ts';
import { type PostgresServer, startPostgres } from './embeddedPostgres.ts';

export { type PostgresServer, startPostgres };

/**
 * One PostgreSQL for this test file (`embeddedPostgres.ts`), started the first time a test asks
 * for a database and stopped after the file's last test. Each `database()` is a fresh, empty
 * database in it, so tests never see each other's rows.
 */
export function usePostgres(): { database(): Promise<string> } {
  let server: Promise<PostgresServer> | undefined;
  afterAll(async () => {
    await (await server)?.stop();
  }, 60_000);
  return {
    database: async () => {
      server ??= startPostgres();
      return (await server).database();
    },
  };
}

export interface StoreBackend {
  readonly name: 'sqlite' | 'postgres';
  /** A new, empty place for the stores: a folder, and for PostgreSQL a fresh database too. */
  location(dataDir: string): Promise<StoreLocation>;
}

/**
 * The two backends a store suite runs on (one suite, two backends):
 * `describe.each(useStoreBackends())('on $name', (backend) => …)`.
 */
export function useStoreBackends(): StoreBackend[] {
  const postgres = usePostgres();
  return [
    { name: 'sqlite', location: async (dataDir) => ({ dataDir }) },
    { name: 'postgres', location: async (dataDir) => ({ dataDir, databaseUrl: await postgres.database() }) },
  ];
}
