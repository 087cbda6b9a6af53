import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

/**
 * Opens (creating if need be) `DATA_DIR/<file>` as the stores here use it: write-ahead logging,
 * so readers never block the writer, and a busy timeout for a second process on the same file.
 */
export function openDatabase(dataDir: string, file: string): Database.Database {
  mkdirSync(dataDir, { recursive: true });
  const db = new Database(join(dataDir, file));
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  return db;
}
