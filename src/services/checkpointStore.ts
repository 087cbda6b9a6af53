import { join } from 'node:path';
import type { RunnableConfig } from '@langchain/core/runnables';
import type { Checkpoint, CheckpointMetadata } from '@langchain/langgraph-checkpoint';
import { SqliteSaver } from '@langchain/langgraph-checkpoint-sqlite';
import { cutFromCheckpoints } from './checkpointCuts.ts';
import type { Forgotten } from './forgetting/forgotten.ts';
import { openDatabase, truncateWal } from './sqlite.ts';

/** Checkpoints kept per conversation: the latest and its recent parents. */
const KEEP_CHECKPOINTS = 3;

/**
 * LangGraph's SQLite checkpointer that keeps only the newest checkpoints of each conversation.
 * Every checkpoint holds the whole state, so keeping them all would grow a long conversation's
 * storage with the square of its length; we never travel back in time, so the old ones go.
 */
class PruningSqliteSaver extends SqliteSaver {
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
    const oldest = this.db
      .prepare(
        'SELECT checkpoint_id FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = ? ORDER BY checkpoint_id DESC LIMIT 1 OFFSET ?',
      )
      .get(threadId, ns, KEEP_CHECKPOINTS - 1) as { checkpoint_id: string } | undefined;
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
  /** LangGraph's SQLite checkpointer: conversation state keyed by conversation (thread) id. */
  readonly saver: SqliteSaver;
  /** The database file. */
  readonly path: string;
  /**
   * Cuts forgotten dialogues from every other conversation's stored state (a plan's prompt quoted
   * them when it recalled them), then empties the write-ahead log; returns how many conversations
   * changed (`checkpointCuts.ts`).
   */
  forgetQuotes(forgotten: Forgotten): number;
  close(): void;
}

/** Opens (creating if needed) `DATA_DIR/checkpoints.sqlite`. */
export function openCheckpointStore(dataDir: string): CheckpointStore {
  const path = join(dataDir, 'checkpoints.sqlite');
  // Another process (a chat beside the bot) may hold the write lock for a moment: WAL + busy timeout.
  const db = openDatabase(dataDir, 'checkpoints.sqlite');
  const saver = new PruningSqliteSaver(db);
  return {
    saver,
    path,
    forgetQuotes: (forgotten) => cutFromCheckpoints(db, forgotten),
    close: () => {
      if (db.open) db.close();
    },
  };
}
