import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteSaver } from '@langchain/langgraph-checkpoint-sqlite';
import Database from 'better-sqlite3';

export interface CheckpointStore {
  /** LangGraph's SQLite checkpointer: conversation state keyed by conversation (thread) id. */
  readonly saver: SqliteSaver;
  /** The database file. */
  readonly path: string;
  close(): void;
}

/** Opens (creating if needed) `DATA_DIR/checkpoints.sqlite`. */
export function openCheckpointStore(dataDir: string): CheckpointStore {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, 'checkpoints.sqlite');
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  // Another process (a chat beside the bot) may hold the write lock for a moment.
  db.pragma('busy_timeout = 5000');
  const saver = new SqliteSaver(db);
  return {
    saver,
    path,
    close: () => {
      if (db.open) db.close();
    },
  };
}
