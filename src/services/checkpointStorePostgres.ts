import type { RunnableConfig } from '@langchain/core/runnables';
import type { ChannelVersions, Checkpoint, CheckpointMetadata } from '@langchain/langgraph-checkpoint';
import { PostgresSaver } from '@langchain/langgraph-checkpoint-postgres';
import pg from 'pg';
import { CHECKPOINT_TABLES, cutFromPostgresCheckpoints, vacuum } from './checkpointCutsPostgres.ts';
import { schemaName, unreachableDatabase } from './db/openStoreDatabase.ts';
import { describeUrl, inTransaction } from './db/postgresDatabase.ts';
import { underSetupLock } from './db/setupLock.ts';
import type { Forgotten } from './forgetting/forgotten.ts';

/** The PostgreSQL schema of the checkpoints, beside the other stores' `batos_*` schemas. */
export const CHECKPOINT_SCHEMA = schemaName('checkpoints');

/**
 * LangGraph's PostgreSQL checkpointer that keeps only the newest checkpoints of each
 * conversation, as the SQLite one here does (`checkpointStore.ts`). It stores a checkpoint's
 * channel values apart from it, in `checkpoint_blobs`, one row per channel and version, shared by
 * every checkpoint that still holds that version; pruning drops the old checkpoints, their
 * writes, and then the blobs no checkpoint left refers to.
 */
class PruningPostgresSaver extends PostgresSaver {
  constructor(
    private readonly connections: pg.Pool,
    private readonly schema: string,
    private readonly keep: number,
  ) {
    super(connections, undefined, { schema });
  }

  override async put(
    config: RunnableConfig,
    checkpoint: Checkpoint,
    metadata: CheckpointMetadata,
    newVersions: ChannelVersions,
  ) {
    const saved = await super.put(config, checkpoint, metadata, newVersions);
    const threadId = saved.configurable?.thread_id as string | undefined;
    const ns = (saved.configurable?.checkpoint_ns as string | undefined) ?? '';
    if (threadId && Number.isFinite(this.keep)) await this.prune(threadId, ns);
    return saved;
  }

  /** Deletes a conversation's state (`/memory forget`), and vacuums the tables that held it. */
  override async deleteThread(threadId: string): Promise<void> {
    await super.deleteThread(threadId);
    await vacuum(this.connections, this.schema, CHECKPOINT_TABLES);
  }

  private async prune(threadId: string, ns: string): Promise<void> {
    const table = (name: string) => `"${this.schema}".${name}`;
    const oldest = await this.connections.query<{ checkpoint_id: string }>(
      `SELECT checkpoint_id FROM ${table('checkpoints')} WHERE thread_id = $1 AND checkpoint_ns = $2 ORDER BY checkpoint_id DESC LIMIT 1 OFFSET $3`,
      [threadId, ns, this.keep - 1],
    );
    const before = oldest.rows[0]?.checkpoint_id;
    if (before === undefined) return;
    await inTransaction(this.connections, async (client) => {
      for (const name of ['checkpoints', 'checkpoint_writes']) {
        await client.query(
          `DELETE FROM ${table(name)} WHERE thread_id = $1 AND checkpoint_ns = $2 AND checkpoint_id < $3`,
          [threadId, ns, before],
        );
      }
      // A blob stays while a kept checkpoint holds its channel at its version.
      await client.query(
        `DELETE FROM ${table('checkpoint_blobs')} bl WHERE bl.thread_id = $1 AND bl.checkpoint_ns = $2 AND NOT EXISTS (
           SELECT 1 FROM ${table('checkpoints')} cp
           WHERE cp.thread_id = bl.thread_id AND cp.checkpoint_ns = bl.checkpoint_ns
             AND cp.checkpoint -> 'channel_versions' ->> bl.channel = bl.version)`,
        [threadId, ns],
      );
    });
  }
}

/**
 * Opens the checkpoints in the schema `batos_checkpoints` of the database at `url`, creating its
 * tables with the saver's own `setup()` (under the migrations' lock: processes starting together
 * set it up once). The pool is ours, so that a connection the server drops while idle is told
 * to `onDropped` instead of ending the process. What it returns is a `CheckpointStore`
 * (`checkpointStore.ts`, which loads this module when it is needed).
 */
export async function openPostgresCheckpointStore(
  url: string,
  options: { keep: number; onDropped?: ((error: Error) => void) | undefined },
) {
  const pool = new pg.Pool({ connectionString: url, max: 6, idleTimeoutMillis: 30_000 });
  pool.on('error', (error) => options.onDropped?.(error));
  const saver = new PruningPostgresSaver(pool, CHECKPOINT_SCHEMA, options.keep);
  try {
    await underSetupLock(pool, () => saver.setup());
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw unreachableDatabase(url, error);
  }
  let closing: Promise<void> | undefined;
  return {
    saver,
    path: `${describeUrl(url)} (schema ${CHECKPOINT_SCHEMA})`,
    forgetQuotes: (forgotten: Forgotten) =>
      closing ? Promise.resolve(0) : cutFromPostgresCheckpoints(pool, CHECKPOINT_SCHEMA, forgotten),
    close(): Promise<void> {
      closing ??= pool.end();
      return closing;
    },
  };
}
