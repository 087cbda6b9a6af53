import type { RunnableConfig } from '@langchain/core/runnables';
import type { BaseCheckpointSaver, Checkpoint, CheckpointMetadata } from '@langchain/langgraph-checkpoint';
import { SqliteSaver } from '@langchain/langgraph-checkpoint-sqlite';
import { cutFromCheckpoints } from './checkpointCuts.ts';
import type { StoreLocation } from './db/openStoreDatabase.ts';
import type { Forgotten } from './forgetting/forgotten.ts';
import { openDatabase, truncateWal } from './sqlite.ts';

/** Checkpoints kept per conversation: the latest and its recent parents. */
export const KEEP_CHECKPOINTS = 3;

/**
 * LangGraph's SQLite checkpointer that keeps only the newest checkpoints of each conversation.
 * Every checkpoint holds the whole state, so keeping them all would grow a long conversation's
 * storage with the square of its length; we never travel back in time, so the old ones go.
 */
class PruningSqliteSaver extends SqliteSaver {
  constructor(
    db: SqliteSaver['db'],
    private readonly keep: number,
  ) {
    super(db);
  }

  override async put(config: RunnableConfig, checkpoint: Checkpoint, metadata: CheckpointMetadata) {
    const saved = await super.put(config, checkpoint, metadata);
    const threadId = saved.configurable?.thread_id as string | undefined;
    const ns = (saved.configurable?.checkpoint_ns as string | undefined) ?? '';
    if (threadId) this.prune(threadId, ns);
    return saved;
  }

  /** Deletes a conversation's state (`/memory forget`), and empties the write-ahead log that still holds it. */
  override async deleteThread(threadId: string): Promise<void> {
    await super.deleteThread(threadId);
    truncateWal(this.db);
  }

  private prune(threadId: string, ns: string): void {
    if (!Number.isFinite(this.keep)) return;
    const oldest = this.db
      .prepare(
        'SELECT checkpoint_id FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = ? ORDER BY checkpoint_id DESC LIMIT 1 OFFSET ?',
      )
      .get(threadId, ns, this.keep - 1) as { checkpoint_id: string } | undefined;
    if (!oldest) return;
    this.db.transaction(() => {
      for (const table of ['checkpoints', 'writes']) {
        this.db
          .prepare(`DELETE FROM ${table} WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id < ?`)
          .run(threadId, ns, oldest.checkpoint_id);
      }
    })();
  }
}

export interface CheckpointStore {
  /**
   * LangGraph's checkpointer: conversation state keyed by conversation (thread) id. SQLite's
   * under `DATA_DIR`, or with `DATABASE_URL` PostgreSQL's (`checkpointStorePostgres.ts`); both
   * keep the newest {@link KEEP_CHECKPOINTS} of a conversation.
   */
  readonly saver: BaseCheckpointSaver;
  /** Where the checkpoints live: the database file, or the server and schema. */
  readonly path: string;
  /**
   * Cuts forgotten dialogues from every other conversation's stored state (a plan's prompt quoted
   * them when it recalled them), then makes the old words unreadable from the storage too;
   * returns how many conversations changed (`checkpointCuts.ts`, `checkpointCutsPostgres.ts`).
   */
  forgetQuotes(forgotten: Forgotten): Promise<number>;
  /** Closes the database; a second call does nothing. */
  close(): Promise<void>;
}

export interface CheckpointStoreOptions {
  /** Checkpoints kept per conversation (default {@link KEEP_CHECKPOINTS}; `Infinity`: all, as LangGraph's own savers). */
  keep?: number;
}

/**
 * Opens (creating if needed) the checkpoints where `location` says: `DATA_DIR/checkpoints.sqlite`,
 * or with `DATABASE_URL` the schema `batos_checkpoints` of that PostgreSQL database.
 */
export async function openCheckpointStore(
  location: StoreLocation,
  options: CheckpointStoreOptions = {},
): Promise<CheckpointStore> {
  const keep = options.keep ?? KEEP_CHECKPOINTS;
  if (location.databaseUrl) {
    // PostgreSQL's driver and saver load only where they are used.
    const { openPostgresCheckpointStore } = await import('./checkpointStorePostgres.ts');
    return openPostgresCheckpointStore(location.databaseUrl, { keep, onDropped: location.onError });
  }
  // Another process (a chat beside the bot) may hold the write lock for a moment: WAL + busy timeout.
  const db = openDatabase(location.dataDir, 'checkpoints.sqlite');
  return {
    saver: new PruningSqliteSaver(db, keep),
    path: db.name,
    forgetQuotes: async (forgotten) => cutFromCheckpoints(db, forgotten),
    close: async () => {
      if (db.open) db.close();
    },
  };
}
