import { resolve } from 'node:path';
import type Database from 'better-sqlite3';
import { openDatabase, truncateWal } from '../sqlite.ts';
import type { RunResult, SqlDatabase, SqlSession } from './sqlDatabase.ts';

/** better-sqlite3 binds numbers, strings, bigints, buffers and null: a flag becomes 1 or 0, a missing value null. */
export const bindable = (params: readonly unknown[]): unknown[] =>
  params.map((value) => (typeof value === 'boolean' ? (value ? 1 : 0) : value === undefined ? null : value));

/**
 * The open transaction on each file in this process, whichever handle opened it. SQLite's own
 * lock waits by blocking the thread (`busy_timeout`): a second handle on the same file in this
 * process would block the very event loop the first transaction needs to finish, so handles in
 * one process queue here instead, and only another process ever meets SQLite's lock.
 */
const transactions = new Map<string, { ongoing?: Promise<void> | undefined }>();

/**
 * A SQLite file (better-sqlite3) behind the async port. A statement takes microseconds and runs
 * at once; what the port adds is the transaction: `work` may await, so while one is open every
 * other statement on this file waits for it to end instead of landing inside it.
 */
export class SqliteDatabase implements SqlDatabase {
  readonly dialect = 'sqlite' as const;
  private readonly statements = new Map<string, Database.Statement<unknown[]>>();
  /** `ongoing` settles when the file's open transaction ends; `undefined` while none is open. */
  private readonly file: { ongoing?: Promise<void> | undefined };

  constructor(readonly db: Database.Database) {
    const key = db.memory ? `:memory:${Math.random()}` : resolve(db.name);
    let file = transactions.get(key);
    if (!file) {
      file = {};
      transactions.set(key, file);
    }
    this.file = file;
  }

  /** Opens (creating if need be) `dataDir/file` as every store's file is opened (`sqlite.ts`). */
  static open(dataDir: string, file: string): SqliteDatabase {
    return new SqliteDatabase(openDatabase(dataDir, file));
  }

  get where(): string {
    return this.db.name;
  }

  get open(): boolean {
    return this.db.open;
  }

  /** The statement for `sql`, prepared at its first use and kept: a store runs the same few again and again. */
  statement(sql: string): Database.Statement<unknown[]> {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare<unknown[]>(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  /** Runs `op` once no transaction is open on the file (checked and run with no await between). */
  private async whenIdle<T>(op: () => T): Promise<T> {
    while (this.file.ongoing) await this.file.ongoing;
    return op();
  }

  all<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return this.whenIdle(() => this.statement(sql).all(...bindable(params)) as T[]);
  }

  get<T>(sql: string, params: readonly unknown[] = []): Promise<T | undefined> {
    return this.whenIdle(() => this.statement(sql).get(...bindable(params)) as T | undefined);
  }

  run(sql: string, params: readonly unknown[] = []): Promise<RunResult> {
    return this.whenIdle(() => ({ changes: this.statement(sql).run(...bindable(params)).changes }));
  }

  exec(sql: string): Promise<void> {
    return this.whenIdle(() => {
      this.db.exec(sql);
    });
  }

  async transaction<T>(work: (tx: SqlSession) => Promise<T>): Promise<T> {
    // Checked and taken with no await between (not through idle(), whose return is one more
    // tick in which another caller could take it first).
    while (this.file.ongoing) await this.file.ongoing;
    let end!: () => void;
    // Set before the next await: a second caller sees it and waits.
    this.file.ongoing = new Promise<void>((settle) => {
      end = settle;
    });
    try {
      // IMMEDIATE takes the write lock now: a check then a write that another process (a
      // terminal chat beside the bot) may race cannot interleave with it.
      this.db.exec('BEGIN IMMEDIATE');
      try {
        const result = await work(this.direct);
        this.db.exec('COMMIT');
        return result;
      } catch (error) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw error;
      }
    } finally {
      this.file.ongoing = undefined;
      end();
    }
  }

  scrub(): Promise<boolean> {
    return this.whenIdle(() => truncateWal(this.db));
  }

  close(): Promise<void> {
    return this.whenIdle(() => {
      if (this.db.open) this.db.close();
    });
  }

  /** Statements that run at once: inside the open transaction, or when none is open. */
  private readonly direct: SqlSession = createDirectSession(this);
}

function createDirectSession(database: SqliteDatabase): SqlSession {
  let savepoints = 0;
  const session: SqlSession = {
    dialect: 'sqlite',
    all: async <T>(sql: string, params: readonly unknown[] = []) =>
      database.statement(sql).all(...bindable(params)) as T[],
    get: async <T>(sql: string, params: readonly unknown[] = []) =>
      database.statement(sql).get(...bindable(params)) as T | undefined,
    run: async (sql, params = []) => ({ changes: database.statement(sql).run(...bindable(params)).changes }),
    exec: async (sql) => {
      database.db.exec(sql);
    },
    // Inside a transaction (the only place this session is handed out) a nested one is a savepoint.
    transaction: async <T>(work: (tx: SqlSession) => Promise<T>) => {
      const name = `nested_${++savepoints}`;
      database.db.exec(`SAVEPOINT ${name}`);
      try {
        const result = await work(session);
        database.db.exec(`RELEASE ${name}`);
        return result;
      } catch (error) {
        database.db.exec(`ROLLBACK TO ${name}`);
        database.db.exec(`RELEASE ${name}`);
        throw error;
      }
    },
  };
  return session;
}
