import type Database from 'better-sqlite3';
import { openDatabase, truncateWal } from './sqlite.ts';

/**
 * What the stores over one SQLite file of their own share (the curation ledger, the fine-tune
 * record, the proposals): the file opened as {@link openDatabase} opens it, the schema created
 * where it is missing, each statement prepared once, transactions, JSON documents, and a close
 * that may be called twice.
 */
export abstract class SqliteStore {
  protected readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement<unknown[]>>();

  /**
   * Opens (creating if need be) `DATA_DIR/<file>` and runs `schema`, which must be idempotent
   * (`CREATE … IF NOT EXISTS`): it runs at every start, on a new file and an old one alike.
   */
  protected constructor(dataDir: string, file: string, schema: string) {
    this.db = openDatabase(dataDir, file);
    this.db.exec(schema);
  }

  /** The statement for `sql`, prepared at its first use and kept: a store runs the same few again and again. */
  protected statement(sql: string): Database.Statement<unknown[]> {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare<unknown[]>(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  /** The first row `sql` selects, if any. */
  protected row<T>(sql: string, ...params: unknown[]): T | undefined {
    return this.statement(sql).get(...params) as T | undefined;
  }

  /** Every row `sql` selects. */
  protected rows<T>(sql: string, ...params: unknown[]): T[] {
    return this.statement(sql).all(...params) as T[];
  }

  /** Runs a statement that returns no rows. */
  protected run(sql: string, ...params: unknown[]): Database.RunResult {
    return this.statement(sql).run(...params);
  }

  /** The JSON document in the `data` column of the first row `sql` selects, if any. */
  protected document<T>(sql: string, ...params: unknown[]): T | undefined {
    const row = this.row<{ data: string }>(sql, ...params);
    return row ? (JSON.parse(row.data) as T) : undefined;
  }

  /** The JSON documents in the `data` column of every row `sql` selects. */
  protected documents<T>(sql: string, ...params: unknown[]): T[] {
    return this.rows<{ data: string }>(sql, ...params).map((row) => JSON.parse(row.data) as T);
  }

  /**
   * Stores `current` with `change` merged in and `updatedAt` set, in a table of documents
   * (columns `id`, `state`, `data`); returns what was stored.
   */
  protected updateDocument<T extends { id: string; state: string; updatedAt: number }>(
    table: string,
    current: T,
    change: Partial<T>,
    at: number,
  ): T {
    const next: T = { ...current, ...change, updatedAt: at };
    this.run(
      `UPDATE ${table} SET state = ?, data = ? WHERE id = ?`,
      next.state,
      JSON.stringify(next),
      current.id,
    );
    return next;
  }

  /** The last number AUTOINCREMENT gave out in `table`; 0 before the first. */
  protected lastSeq(table: string): number {
    return this.row<{ seq: number }>('SELECT seq FROM sqlite_sequence WHERE name = ?', table)?.seq ?? 0;
  }

  /**
   * Runs `work` in one transaction (a savepoint inside another). `immediate` takes the write
   * lock at once: for a check then a write that another process may be racing.
   */
  protected transaction<T>(work: () => T, mode: 'deferred' | 'immediate' = 'deferred'): T {
    const transaction = this.db.transaction(work);
    return mode === 'immediate' ? transaction.immediate() : transaction();
  }

  /** Empties the write-ahead log into the file (after a forget: see {@link truncateWal}). */
  truncateWal(): boolean {
    return truncateWal(this.db);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
