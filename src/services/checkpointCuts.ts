import type Database from 'better-sqlite3';
import { cutInValue, type Forgotten, jsonNeedles } from './forgetting/forgotten.ts';
import { truncateWal } from './sqlite.ts';

/**
 * `/memory forget` in the checkpoints of other conversations: a conversation whose plan recalled
 * a forgotten dialogue keeps the plan's prompt, quote included, in its state (each checkpoint, its
 * metadata, the writes beside it). The rows that hold the quote are read as the JSON LangGraph's
 * serializer wrote, the quote cut from every string in them, and written back in the same form
 * (the JSON as it was, so nothing else in the state changes).
 */

const COLUMNS = {
  checkpoints: ['checkpoint', 'metadata'],
  writes: ['value'],
} as const;

/** Cuts the forgotten dialogues from every checkpoint and write that quotes them; returns the conversations changed. */
export function cutFromCheckpoints(db: Database.Database, forgotten: Forgotten): number {
  if (!db.open || forgotten.ids.length === 0) return 0;
  // The conversations that recalled it: their plan names it, and quotes it.
  const needles = jsonNeedles(forgotten, { texts: false });
  const threads = new Set<string>();
  db.transaction(() => {
    for (const [table, columns] of Object.entries(COLUMNS)) {
      if (!tableExists(db, table)) continue;
      for (const column of columns) {
        for (const thread of cutColumn(db, table, column, needles, forgotten)) threads.add(thread);
      }
    }
  })();
  if (threads.size > 0) truncateWal(db);
  return threads.size;
}

function tableExists(db: Database.Database, table: string): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(table) !== undefined;
}

/** Rewrites the column's values that hold a needle; returns their conversations. */
function cutColumn(
  db: Database.Database,
  table: string,
  column: string,
  needles: readonly Buffer[],
  forgotten: Forgotten,
): string[] {
  const holds = needles.map(() => `instr(${column}, ?) > 0`).join(' OR ');
  const rows = db
    .prepare(`SELECT rowid, thread_id, type, ${column} AS value FROM ${table} WHERE ${holds}`)
    .all(...needles) as Array<{
    rowid: number;
    thread_id: string;
    type: string | null;
    value: Buffer | string;
  }>;
  const update = db.prepare(`UPDATE ${table} SET ${column} = ? WHERE rowid = ?`);
  const changed: string[] = [];
  for (const row of rows) {
    if ((row.type ?? 'json') !== 'json') continue;
    const text = Buffer.isBuffer(row.value) ? row.value.toString('utf8') : row.value;
    const parsed = JSON.parse(text) as unknown;
    const cut = cutInValue(parsed, forgotten);
    if (cut === parsed) continue;
    const json = JSON.stringify(cut);
    update.run(Buffer.isBuffer(row.value) ? Buffer.from(json) : json, row.rowid);
    changed.push(row.thread_id);
  }
  return changed;
}
