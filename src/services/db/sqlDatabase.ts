/**
 * The one way the stores reach their tables, whichever engine holds them: SQLite files under
 * `DATA_DIR` (the default, one process) or PostgreSQL behind `DATABASE_URL` (several processes).
 *
 * A store writes its statements once, in the SQL the two engines share: `?` for each parameter
 * (PostgreSQL's adapter numbers them), `INSERT … ON CONFLICT … DO …`, `RETURNING` for a new row's
 * id, integers for times and flags, `TEXT` for JSON documents and `BYTEA` for vectors (SQLite
 * stores a buffer as a blob whatever the column says). Where the engines differ (a table's
 * definition, an auto-numbered key), a migration asks {@link SqlSession.dialect}.
 */

export type Dialect = 'sqlite' | 'postgres';

export interface RunResult {
  /** Rows the statement inserted, changed or deleted. */
  changes: number;
}

/** Statements on one connection: the database's, or a transaction's. */
export interface SqlSession {
  readonly dialect: Dialect;
  /** Every row `sql` selects (or returns). */
  all<T>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** The first row `sql` selects (or returns), if any. */
  get<T>(sql: string, params?: readonly unknown[]): Promise<T | undefined>;
  /** Runs a statement that returns no rows. */
  run(sql: string, params?: readonly unknown[]): Promise<RunResult>;
  /** Runs several statements, with no parameters (a schema). */
  exec(sql: string): Promise<void>;
  /**
   * Runs `work` in one transaction (a savepoint inside another): everything it wrote is kept
   * together, or nothing when it throws. `lock` names a check-then-write that other processes
   * may race (a lease, "at most one active"): while one transaction holds a name, another that
   * names it waits. SQLite needs no name (a transaction there takes the file's write lock at
   * once); PostgreSQL takes a transaction-scoped advisory lock on it.
   */
  transaction<T>(work: (tx: SqlSession) => Promise<T>, options?: { lock?: string }): Promise<T>;
}

export interface SqlDatabase extends SqlSession {
  /** Where the data lives, for logs and `/status`: a file's path, or the server and schema (never a password). */
  readonly where: string;
  /**
   * Makes deleted rows unreadable from the storage too (after `/memory forget`): SQLite empties
   * its write-ahead log (with `secure_delete` the file itself no longer holds them); PostgreSQL
   * vacuums `tables`. Returns whether it could finish now (a reader in another process may hold
   * SQLite's log until its next checkpoint).
   */
  scrub(tables: readonly string[]): Promise<boolean>;
  /** Whether it still answers (for `/healthz`). */
  readonly open: boolean;
  /** Closes it; a second call does nothing. */
  close(): Promise<void>;
}
