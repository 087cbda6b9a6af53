import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { createPostgresLeadership } from '../../../src/services/db/leadership.ts';
import { type Migration, migrate } from '../../../src/services/db/migrations.ts';
import { openStoreDatabase, type StoreSpec } from '../../../src/services/db/openStoreDatabase.ts';
import { lockKey, numberPlaceholders } from '../../../src/services/db/postgresDatabase.ts';
import type { SqlDatabase } from '../../../src/services/db/sqlDatabase.ts';
import { autoKey } from '../../../src/services/db/sqlStore.ts';
import { findAppError } from '../../../src/services/errors.ts';
import { tempFolders } from '../../support/fixtures.ts';
import { usePostgres, useStoreBackends } from '../../support/postgres.ts';

const folders = tempFolders();
const opened: SqlDatabase[] = [];
afterEach(async () => {
  for (const db of opened.splice(0)) await db.close();
  folders.cleanup();
});

const notes: Migration[] = [
  {
    version: 1,
    name: 'notes',
    up: (tx) =>
      tx.exec(
        `CREATE TABLE IF NOT EXISTS notes (${autoKey(tx)}, id TEXT NOT NULL UNIQUE, at BIGINT NOT NULL, data TEXT NOT NULL, vector BYTEA)`,
      ),
  },
];
const spec: StoreSpec = { file: 'notes.sqlite', schema: 'notes', migrations: notes };

describe('numbering placeholders for PostgreSQL', () => {
  it('numbers each ? outside quoted strings and names', () => {
    expect(numberPlaceholders(`SELECT '?', "a?b" FROM t WHERE a = ? AND b = 'it''s ?' AND c = ?`)).toBe(
      `SELECT '?', "a?b" FROM t WHERE a = $1 AND b = 'it''s ?' AND c = $2`,
    );
  });
});

describe.each(useStoreBackends())('the store database on $name', (backend) => {
  const open = async (location?: Awaited<ReturnType<typeof backend.location>>) => {
    const db = await openStoreDatabase(location ?? (await backend.location(folders.folder())), spec);
    opened.push(db);
    return db;
  };

  it('reads back what it wrote: numbers as numbers, text, buffers, the new key from RETURNING', async () => {
    const db = await open();
    const at = 1_765_000_000_123; // past 2^31: a time in milliseconds must survive
    const first = await db.get<{ seq: number }>(
      'INSERT INTO notes (id, at, data, vector) VALUES (?, ?, ?, ?) RETURNING seq',
      ['a', at, JSON.stringify({ words: "it's" }), Buffer.from(new Float32Array([0.5, -1]).buffer)],
    );
    expect(first?.seq).toBe(1);
    const row = await db.get<{ seq: number; at: number; data: string; vector: Buffer }>(
      'SELECT * FROM notes WHERE id = ?',
      ['a'],
    );
    expect(row?.at).toBe(at);
    expect(JSON.parse(row?.data ?? '{}')).toEqual({ words: "it's" });
    expect([...new Float32Array(new Uint8Array(row?.vector ?? []).buffer)]).toEqual([0.5, -1]);
    expect((await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM notes'))?.n).toBe(1);
    expect((await db.run('DELETE FROM notes WHERE id = ?', ['a'])).changes).toBe(1);
    expect(await db.scrub(['notes'])).toBe(true);
  });

  it('keeps a transaction whole: all of it, or none of it when it throws; a savepoint inside', async () => {
    const db = await open();
    const insert = (tx: Pick<SqlDatabase, 'run'>, id: string) =>
      tx.run('INSERT INTO notes (id, at, data) VALUES (?, ?, ?)', [id, 1, '{}']);
    await expect(
      db.transaction(async (tx) => {
        await insert(tx, 'x');
        throw new Error('no');
      }),
    ).rejects.toThrow('no');
    await db.transaction(async (tx) => {
      await insert(tx, 'y');
      await tx.transaction(async (inner) => insert(inner, 'y')).catch(() => undefined); // a duplicate, rolled back alone
      await insert(tx, 'z');
    });
    const ids = (await db.all<{ id: string }>('SELECT id FROM notes ORDER BY id')).map((r) => r.id);
    expect(ids).toEqual(['y', 'z']);
  });

  it('lets one of two racing check-then-writes win when they name the same lock', async () => {
    const location = await backend.location(folders.folder());
    // Two handles: two processes' pools, or one SQLite file opened twice.
    const [one, two] = [await open(location), await open(location)];
    const claim = (db: SqlDatabase, id: string) =>
      db.transaction(
        async (tx) => {
          const taken = await tx.get('SELECT id FROM notes WHERE data = ?', ['lease']);
          await new Promise((resolve) => setTimeout(resolve, 20));
          if (taken) return false;
          await tx.run('INSERT INTO notes (id, at, data) VALUES (?, ?, ?)', [id, 1, 'lease']);
          return true;
        },
        { lock: 'lease' },
      );
    const won = await Promise.all([claim(one, 'a'), claim(two, 'b'), claim(one, 'c')]);
    expect(won.filter(Boolean)).toHaveLength(1);
  });

  it('migrates once when several start together, and refuses a schema newer than it knows', async () => {
    const location = await backend.location(folders.folder());
    const dbs = await Promise.all([open(location), open(location), open(location)]);
    expect((await dbs[0]?.all('SELECT version FROM schema_migrations'))?.length).toBe(1);
    const later: Migration[] = [
      ...notes,
      { version: 2, name: 'tags', up: (tx) => tx.exec('ALTER TABLE notes ADD COLUMN tag TEXT') },
    ];
    const [a, b] = dbs;
    if (!a || !b) throw new Error('unopened');
    const runs = await Promise.all([
      migrate(a, later, { schema: 'batos_notes' }),
      migrate(b, later, { schema: 'batos_notes' }),
    ]);
    expect(runs.flat()).toEqual([2]);
    const error = await openStoreDatabase(location, spec).catch((e: unknown) => e);
    expect(findAppError(error)?.code).toBe('STORE_TOO_NEW');
    expect(String((error as Error).message)).toMatch(/schema version 2, newer than this BAT OS knows \(1\)/);
  });
});

describe('PostgreSQL behind DATABASE_URL', () => {
  const postgres = usePostgres();

  it('keeps each store in a schema of its own, so two stores may both have a table of the same name', async () => {
    const url = await postgres.database();
    const a = await openStoreDatabase({ dataDir: folders.folder(), databaseUrl: url }, spec);
    const b = await openStoreDatabase(
      { dataDir: folders.folder(), databaseUrl: url },
      { ...spec, schema: 'other' },
    );
    opened.push(a, b);
    await a.run('INSERT INTO notes (id, at, data) VALUES (?, ?, ?)', ['only-in-a', 1, '{}']);
    expect(await b.all('SELECT id FROM notes')).toEqual([]);
    expect(a.where).toMatch(/schema batos_notes/);
    expect(a.where).not.toContain('batos-test'); // the password
  });

  it('says what to start or fix when the server does not answer', async () => {
    const error = await openStoreDatabase(
      { dataDir: folders.folder(), databaseUrl: 'postgres://u:secret@127.0.0.1:9/none' },
      spec,
    ).catch((e: unknown) => e);
    expect(findAppError(error)?.code).toBe('DATABASE_UNREACHABLE');
    expect(String((error as Error).message)).toMatch(/start it, or fix DATABASE_URL/);
    expect(String((error as Error).message)).not.toContain('secret');
  });

  it('elects one runner per job, and frees its jobs when its process dies', async () => {
    const url = await postgres.database();
    const [one, two] = [createPostgresLeadership(url), createPostgresLeadership(url)];
    try {
      expect(await one.leads('curation')).toBe(true);
      expect(await two.leads('curation')).toBe(false);
      expect(await two.leads('finetune')).toBe(true);
      expect(await one.leads('curation')).toBe(true);
      // Its connection dies (a kill -9 closes the socket): the server ends its session and its locks.
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      const key = BigInt.asUintN(64, BigInt(lockKey('bat-os:job:curation')));
      await admin.query(
        "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND classid = $1 AND objid = $2 AND objsubid = 1",
        [(key >> 32n).toString(), (key & 0xffffffffn).toString()],
      );
      await admin.end();
      await expect.poll(() => two.leads('curation'), { timeout: 5000 }).toBe(true);
      expect(await one.leads('curation')).toBe(false);
    } finally {
      await one.close();
      await two.close();
    }
  });
});
