import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

/**
 * Opens (creating if need be) `DATA_DIR/<file>` as the stores here use it: write-ahead logging,
 * so readers never block the writer, and a busy timeout for a second process on the same file.
 * `synchronous = NORMAL`, SQLite's advice for write-ahead logging: a commit no longer waits for
 * the disk (an fsync took 10–20 ms here, and a dialogue commits a dozen times), the file stays
 * consistent whatever happens, and a commit survives the bot's crash or kill; only a power loss
 * or an OS crash may take back the last commits.
 *
 * `secure_delete`: what a store deletes or overwrites is overwritten with zeros in the file, not
 * left in free pages for anyone who reads the file to find (`/memory forget` means gone).
 */
export function openDatabase(dataDir: string, file: string): Database.Database {
  mkdirSync(dataDir, { recursive: true });
  const db = new Database(join(dataDir, file));
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('synchronous = NORMAL');
  db.pragma('secure_delete = ON');
  return db;
}

/**
 * Copies the write-ahead log into the database file and empties it. The log keeps the pages a
 * transaction replaced until then, so after a forget the forgotten words would still be in it;
 * with `secure_delete` the database file no longer holds them. Returns whether the log was
 * emptied: a reader in another process (a terminal chat) may hold it, and then it empties at
 * that process's next checkpoint.
 */
export function truncateWal(db: Database.Database): boolean {
  if (!db.open) return false;
  const [result] = db.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number }>;
  return result?.busy === 0;
}
