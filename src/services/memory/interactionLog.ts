import type Database from 'better-sqlite3';
import { openDatabase, truncateWal } from '../sqlite.ts';
import { VectorStore } from './vectorStore.ts';

/** A tool a persona called during its turn, and what came back. */
export interface RecordedToolCall {
  tool: string;
  input: unknown;
  ok: boolean;
  /** The result as JSON (clipped), when the call succeeded. */
  output?: string;
  error?: string;
  ms: number;
}

/** One message of a persona's chat inside its turn, as it was sent to the model. */
export interface RecordedMessage {
  role: 'user' | 'assistant';
  content: string;
}

/**
 * Who could see where a dialogue happened, as the bot found it when the dialogue ran (curation
 * reads it: only what everyone may see becomes weights, by default):
 * - `public`: the bot's home server, in a channel its @everyone role can read, not a private thread;
 * - `restricted`: the home server, in a channel @everyone cannot read (a public thread in it too);
 * - `private-thread`: the home server, in a private thread;
 * - `foreign`: another server the bot was added to (or any server, while no home server is known);
 * - `dm`: a direct message.
 * A record without one (the terminal chat, or one made before it was kept) counts as not public.
 */
export type DialogueVisibility = 'public' | 'restricted' | 'private-thread' | 'foreign' | 'dm';

export const DIALOGUE_VISIBILITIES: readonly DialogueVisibility[] = [
  'public',
  'restricted',
  'private-thread',
  'foreign',
  'dm',
];

/** One persona turn as recorded: what it was asked and what it said. */
export interface RecordedTurn {
  speaker: string;
  kind: string;
  /**
   * The system prompt the persona was given, exactly as sent (its codex prompt, principles and
   * the core). Absent in records made before it was kept.
   */
  system?: string;
  /** The prompt the persona was given (its system prompt aside). */
  prompt?: string;
  /**
   * What passed between `prompt` and `output` when the persona called tools, as sent: for each
   * call, its words ending in `TOOL_CALL:` (assistant), then the tool's result as it was shown
   * (user). Absent when it called no tool, and in records made before it was kept.
   */
  exchange?: RecordedMessage[];
  output: string;
  model?: string;
  dissonance?: number;
  /** Tools called during the turn: name, input, result or error. */
  toolCalls?: RecordedToolCall[];
  /**
   * The records of past dialogues recalled into the prompt (ALFRED's plan): curation checks they
   * may be seen where the samples go, and forgetting one removes the samples it reached.
   */
  recalled?: string[];
  at: number;
}

/** A finished dialogue run, as the curation and memory loops read it. */
export interface DialogueRecord {
  id: string;
  conversationId: string;
  run: number;
  task: string;
  answer: string;
  turns: RecordedTurn[];
  models: string[];
  trajectory: number[];
  finalDissonance: number | null;
  userId?: string;
  guildId?: string;
  channelId?: string;
  /** Who could see where it happened; absent: not public (see {@link DialogueVisibility}). */
  visibility?: DialogueVisibility;
  codexVersion: number;
  startedAt: number;
  finishedAt: number;
}

export interface StoredRecord extends DialogueRecord {
  /** Position in the log: a cursor for "everything since". */
  seq: number;
  /** Its vector is stored (`InteractionLog.vectors`). */
  embedded: boolean;
}

interface Row {
  seq: number;
  id: string;
  conversation_id: string;
  run: number;
  task: string;
  answer: string;
  turns: string;
  models: string;
  trajectory: string;
  final_dissonance: number | null;
  user_id: string | null;
  guild_id: string | null;
  channel_id: string | null;
  visibility: string | null;
  codex_version: number;
  started_at: number;
  finished_at: number;
  embedded: number;
}

function fromRow(row: Row): StoredRecord {
  const record: StoredRecord = {
    seq: row.seq,
    id: row.id,
    conversationId: row.conversation_id,
    run: row.run,
    task: row.task,
    answer: row.answer,
    turns: JSON.parse(row.turns) as RecordedTurn[],
    models: JSON.parse(row.models) as string[],
    trajectory: JSON.parse(row.trajectory) as number[],
    finalDissonance: row.final_dissonance,
    codexVersion: row.codex_version,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    embedded: row.embedded === 1,
  };
  if (row.user_id) record.userId = row.user_id;
  if (row.guild_id) record.guildId = row.guild_id;
  if (row.channel_id) record.channelId = row.channel_id;
  const visibility = DIALOGUE_VISIBILITIES.find((v) => v === row.visibility);
  if (visibility) record.visibility = visibility;
  return record;
}

/** Adds the `visibility` column to a log made before it was kept (its records stay without one). */
function addVisibilityColumn(db: Database.Database): void {
  const columns = db.prepare('PRAGMA table_info(dialogues)').all() as Array<{ name: string }>;
  if (!columns.some((column) => column.name === 'visibility'))
    db.exec('ALTER TABLE dialogues ADD COLUMN visibility TEXT');
}

/**
 * The durable, time-ordered record of every finished dialogue (`DATA_DIR/memory.sqlite`), and
 * beside it the vector of each embedded one.
 */
export class InteractionLog {
  private readonly db: Database.Database;
  /** The dialogues' embeddings, in the same database: the source of truth of the search index. */
  readonly vectors: VectorStore;

  constructor(dataDir: string) {
    this.db = openDatabase(dataDir, 'memory.sqlite');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS dialogues (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        conversation_id TEXT NOT NULL,
        run INTEGER NOT NULL,
        task TEXT NOT NULL,
        answer TEXT NOT NULL,
        turns TEXT NOT NULL,
        models TEXT NOT NULL,
        trajectory TEXT NOT NULL,
        final_dissonance REAL,
        user_id TEXT,
        guild_id TEXT,
        channel_id TEXT,
        visibility TEXT,
        codex_version INTEGER NOT NULL,
        started_at INTEGER NOT NULL,
        finished_at INTEGER NOT NULL,
        embedded INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX IF NOT EXISTS dialogues_conversation ON dialogues (conversation_id);
      CREATE INDEX IF NOT EXISTS dialogues_finished ON dialogues (finished_at);
      CREATE INDEX IF NOT EXISTS dialogues_pending ON dialogues (embedded) WHERE embedded = 0;
    `);
    addVisibilityColumn(this.db);
    this.vectors = new VectorStore(this.db);
  }

  append(record: DialogueRecord): StoredRecord {
    const row = this.db
      .prepare(
        `INSERT INTO dialogues (id, conversation_id, run, task, answer, turns, models, trajectory, final_dissonance,
           user_id, guild_id, channel_id, visibility, codex_version, started_at, finished_at)
         VALUES (@id, @conversationId, @run, @task, @answer, @turns, @models, @trajectory, @finalDissonance,
           @userId, @guildId, @channelId, @visibility, @codexVersion, @startedAt, @finishedAt)
         RETURNING *`,
      )
      .get({
        ...record,
        turns: JSON.stringify(record.turns),
        models: JSON.stringify(record.models),
        trajectory: JSON.stringify(record.trajectory),
        userId: record.userId ?? null,
        guildId: record.guildId ?? null,
        channelId: record.channelId ?? null,
        visibility: record.visibility ?? null,
      }) as Row;
    return fromRow(row);
  }

  /** Records after `cursor` (a `seq`), oldest first. */
  since(cursor: number, limit = 100): StoredRecord[] {
    return (
      this.db
        .prepare('SELECT * FROM dialogues WHERE seq > ? ORDER BY seq LIMIT ?')
        .all(cursor, limit) as Row[]
    ).map(fromRow);
  }

  /** Records finished within [from, to), oldest first. */
  between(from: number, to: number): StoredRecord[] {
    return (
      this.db
        .prepare(
          'SELECT * FROM dialogues WHERE finished_at >= ? AND finished_at < ? ORDER BY finished_at, seq',
        )
        .all(from, to) as Row[]
    ).map(fromRow);
  }

  get(id: string): StoredRecord | undefined {
    const row = this.db.prepare('SELECT * FROM dialogues WHERE id = ?').get(id) as Row | undefined;
    return row ? fromRow(row) : undefined;
  }

  ofConversation(conversationId: string): StoredRecord[] {
    return (
      this.db
        .prepare('SELECT * FROM dialogues WHERE conversation_id = ? ORDER BY seq')
        .all(conversationId) as Row[]
    ).map(fromRow);
  }

  /** Records without a vector, oldest first. */
  pending(limit = 50): StoredRecord[] {
    return (
      this.db.prepare('SELECT * FROM dialogues WHERE embedded = 0 ORDER BY seq LIMIT ?').all(limit) as Row[]
    ).map(fromRow);
  }

  /** Deletes a conversation's records and their vectors, in one transaction; returns what was removed. */
  deleteConversation(conversationId: string): StoredRecord[] {
    return this.db.transaction(() => {
      const removed = this.ofConversation(conversationId);
      this.db
        .prepare(
          'DELETE FROM vectors WHERE record_id IN (SELECT id FROM dialogues WHERE conversation_id = ?)',
        )
        .run(conversationId);
      this.db.prepare('DELETE FROM dialogues WHERE conversation_id = ?').run(conversationId);
      return removed;
    })();
  }

  /** Records whose plan recalled one of these records (their ids are kept with the plan's turn), oldest first. */
  recalling(recordIds: readonly string[]): StoredRecord[] {
    const found = new Map<string, StoredRecord>();
    const select = this.db.prepare('SELECT * FROM dialogues WHERE instr(turns, ?) > 0 ORDER BY seq');
    for (const id of recordIds) {
      for (const row of select.all(JSON.stringify(id)) as Row[]) {
        const record = fromRow(row);
        if (record.turns.some((turn) => turn.recalled?.includes(id))) found.set(record.id, record);
      }
    }
    return [...found.values()].sort((a, b) => a.seq - b.seq);
  }

  /** Replaces a record's words (its task, answer and turns), the rest kept: a forgotten quote cut from them. */
  rewrite(record: Pick<DialogueRecord, 'id' | 'task' | 'answer' | 'turns'>): void {
    this.db
      .prepare('UPDATE dialogues SET task = ?, answer = ?, turns = ? WHERE id = ?')
      .run(record.task, record.answer, JSON.stringify(record.turns), record.id);
  }

  /** Empties the write-ahead log into the file, so that what a forget deleted is in neither. */
  truncateWal(): boolean {
    return truncateWal(this.db);
  }

  count(): { total: number; pending: number } {
    // Two counts, each from an index: one pass over the table would read every record.
    const { total } = this.db.prepare('SELECT COUNT(*) AS total FROM dialogues').get() as { total: number };
    const { pending } = this.db
      .prepare('SELECT COUNT(*) AS pending FROM dialogues WHERE embedded = 0')
      .get() as {
      pending: number;
    };
    return { total, pending };
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
