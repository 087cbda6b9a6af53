import type pg from 'pg';
import { inTransaction } from './db/postgresDatabase.ts';
import { cutInValue, type Forgotten, jsonNeedles } from './forgetting/forgotten.ts';

/**
 * `/memory forget` in the checkpoints of other conversations, when they live in PostgreSQL
 * (`checkpointCuts.ts` is the SQLite version, and says why). LangGraph's PostgreSQL saver keeps
 * a conversation's state in three tables: the checkpoint itself and its metadata as JSONB in
 * `checkpoints`, the channel values (the turns, with a plan's prompt) as serialized bytes in
 * `checkpoint_blobs`, one row per channel and version, and the pending writes the same way in
 * `checkpoint_writes`. Each row that holds a quote is read, the quote cut from every string in
 * it, and written back in the same form; the tables it changed are vacuumed after.
 */

/** The saver's tables that hold a conversation's words. */
export const CHECKPOINT_TABLES = ['checkpoints', 'checkpoint_blobs', 'checkpoint_writes'] as const;

interface Column {
  table: (typeof CHECKPOINT_TABLES)[number];
  column: string;
  /** JSONB (read as a value), or bytes in the serializer's format named by the row's `type`. */
  kind: 'jsonb' | 'bytes';
}

const COLUMNS: readonly Column[] = [
  { table: 'checkpoints', column: 'checkpoint', kind: 'jsonb' },
  { table: 'checkpoints', column: 'metadata', kind: 'jsonb' },
  { table: 'checkpoint_blobs', column: 'blob', kind: 'bytes' },
  { table: 'checkpoint_writes', column: 'blob', kind: 'bytes' },
];

/** Cuts the forgotten dialogues from every checkpoint, blob and write that quotes them; returns the conversations changed. */
export async function cutFromPostgresCheckpoints(
  pool: pg.Pool,
  schema: string,
  forgotten: Forgotten,
): Promise<number> {
  if (forgotten.ids.length === 0) return 0;
  // The conversations that recalled it: their plan names it, and quotes it.
  const needles = jsonNeedles(forgotten, { texts: false });
  const threads = new Set<string>();
  const changed = new Set<string>();
  await inTransaction(pool, async (client) => {
    for (const column of COLUMNS) {
      const cut = await cutColumn(client, schema, column, needles, forgotten);
      for (const thread of cut) threads.add(thread);
      if (cut.length > 0) changed.add(column.table);
    }
  });
  await vacuum(pool, schema, [...changed]);
  return threads.size;
}

/**
 * Rewrites the column's values that hold a needle; returns their conversations. The rows are
 * locked as they are read (`FOR UPDATE`), so a row is not changed between its read and its
 * rewrite, and each is rewritten by its physical address within this transaction.
 */
async function cutColumn(
  client: pg.PoolClient,
  schema: string,
  { table, column, kind }: Column,
  needles: readonly Buffer[],
  forgotten: Forgotten,
): Promise<string[]> {
  const name = `"${schema}".${table}`;
  // JSONB is searched in its text form, where a string is escaped as JSON escapes it; bytes as bytes.
  const holds = needles
    .map((_, i) =>
      kind === 'jsonb'
        ? `strpos(${column}::text, $${i + 1}) > 0`
        : `position($${i + 1}::bytea in ${column}) > 0`,
    )
    .join(' OR ');
  const params: unknown[] =
    kind === 'jsonb' ? needles.map((needle) => needle.toString('utf8')) : [...needles];
  const { rows } = await client.query<{
    ref: string;
    thread_id: string;
    type: string | null;
    value: unknown;
  }>(
    `SELECT ctid::text AS ref, thread_id, type, ${column} AS value FROM ${name} WHERE ${holds} FOR UPDATE`,
    params,
  );
  const threads: string[] = [];
  for (const row of rows) {
    const next = cutRow(row, kind, forgotten);
    if (next === undefined) continue;
    await client.query(`UPDATE ${name} SET ${column} = $1 WHERE ctid = $2::tid`, [next, row.ref]);
    threads.push(row.thread_id);
  }
  return threads;
}

/** The row's value with the quotes cut, in the column's form; undefined when nothing changed. */
function cutRow(
  row: { type: string | null; value: unknown },
  kind: Column['kind'],
  forgotten: Forgotten,
): string | Buffer | undefined {
  if (kind === 'jsonb') {
    const cut = cutInValue(row.value, forgotten);
    return cut === row.value ? undefined : JSON.stringify(cut);
  }
  // Only the serializer's JSON is read; other forms (raw bytes) are left as they are.
  if (row.type !== 'json' || !Buffer.isBuffer(row.value)) return undefined;
  const parsed = JSON.parse(row.value.toString('utf8')) as unknown;
  const cut = cutInValue(parsed, forgotten);
  return cut === parsed ? undefined : Buffer.from(JSON.stringify(cut));
}

/**
 * VACUUM's the tables, so that the rows a forget deleted or rewrote are no longer kept as dead
 * versions for a reader of the files to find (it cannot run inside a transaction).
 */
export async function vacuum(pool: pg.Pool, schema: string, tables: readonly string[]): Promise<void> {
  for (const table of tables) await pool.query(`VACUUM "${schema}".${table}`);
}
