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
 */
export function openDatabase(dataDir: string, file: string): Database.Database {
  mkdirSync(dataDir, { recursive: true });
  const db = new Database(join(dataDir, file));
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('synchronous = NORMAL');
  return db;
}
