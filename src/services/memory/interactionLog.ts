import { openStoreDatabase, type StoreLocation } from '../db/openStoreDatabase.ts';
import type { Dialect, SqlDatabase, SqlSession } from '../db/sqlDatabase.ts';
import { SqlStore } from '../db/sqlStore.ts';
import { DIALOGUE_LOCK, MEMORY_MIGRATIONS, VECTOR_LOCK } from './memorySchema.ts';
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

/** What recall reads of a record: no turns, models or trajectory (`InteractionLog.recollections`). */
export type RecollectedRecord = Pick<
  StoredRecord,
  | 'id'
  | 'conversationId'
  | 'task'
  | 'answer'
  | 'finalDissonance'
  | 'finishedAt'
  | 'userId'
  | 'guildId'
  | 'channelId'
  | 'visibility'
>;

type RecollectedRow = Pick<
  Row,
  | 'id'
  | 'conversation_id'
  | 'task'
  | 'answer'
  | 'final_dissonance'
  | 'finished_at'
  | 'user_id'
  | 'guild_id'
  | 'channel_id'
  | 'visibility'
>;

function recollectedFromRow(row: RecollectedRow): RecollectedRecord {
  const record: RecollectedRecord = {
    id: row.id,
    conversationId: row.conversation_id,
    task: row.task,
    answer: row.answer,
    finalDissonance: row.final_dissonance,
    finishedAt: row.finished_at,
  };
  if (row.user_id) record.userId = row.user_id;
  if (row.guild_id) record.guildId = row.guild_id;
  if (row.channel_id) record.channelId = row.channel_id;
  const visibility = DIALOGUE_VISIBILITIES.find((v) => v === row.visibility);
  if (visibility) record.visibility = visibility;
  return record;
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

/**
 * The durable, time-ordered record of every finished dialogue (`DATA_DIR/memory.sqlite`, or the
 * `batos_memory` schema with `DATABASE_URL`), and beside it the vector of each embedded one.
 */
export class InteractionLog extends SqlStore {
  /** The dialogues' embeddings, in the same database: the source of truth of the search index. */
  readonly vectors: VectorStore;

  private constructor(db: SqlDatabase) {
    super(db);
    this.vectors = new VectorStore(db);
  }

  /** Opens the log where the location says (`memory.sqlite`, or PostgreSQL) and brings its schema up to date. */
  static async open(location: StoreLocation): Promise<InteractionLog> {
    return new InteractionLog(
      await openStoreDatabase(location, {
        file: 'memory.sqlite',
        schema: 'memory',
        migrations: MEMORY_MIGRATIONS,
      }),
    );
  }

  /** Which engine holds it. */
  get dialect(): Dialect {
    return this.db.dialect;
  }

  /**
   * Records a dialogue under the next `seq`. Appends are numbered and committed one at a time
   * (`DIALOGUE_LOCK`): a job reading `since` its cursor (curation) must never find a lower `seq`
   * committed after a higher one it has passed, as two processes' inserts could otherwise do.
   */
  async append(record: DialogueRecord): Promise<StoredRecord> {
    const row = await this.transaction((tx) => insertRecord(tx, record), DIALOGUE_LOCK);
    return fromRow(row);
  }

  /** Records after `cursor` (a `seq`), oldest first. */
  async since(cursor: number, limit = 100): Promise<StoredRecord[]> {
    return (
      await this.rows<Row>('SELECT * FROM dialogues WHERE seq > ? ORDER BY seq LIMIT ?', cursor, limit)
    ).map(fromRow);
  }

  /** Records finished within [from, to), oldest first. */
  async between(from: number, to: number): Promise<StoredRecord[]> {
    return (
      await this.rows<Row>(
        'SELECT * FROM dialogues WHERE finished_at >= ? AND finished_at < ? ORDER BY finished_at, seq',
        from,
        to,
      )
    ).map(fromRow);
  }

  async get(id: string): Promise<StoredRecord | undefined> {
    const row = await this.row<Row>('SELECT * FROM dialogues WHERE id = ?', id);
    return row ? fromRow(row) : undefined;
  }

  /**
   * The records among `ids` as recall shows them (their words and where they were held, without
   * the turns), by id, in one query: recall looks up every hit of a search at once.
   */
  async recollections(ids: readonly string[]): Promise<Map<string, RecollectedRecord>> {
    if (ids.length === 0) return new Map();
    const rows = await this.rows<RecollectedRow>(
      `SELECT id, conversation_id, task, answer, final_dissonance, finished_at, user_id, guild_id, channel_id, visibility
         FROM dialogues WHERE id IN (${ids.map(() => '?').join(', ')})`,
      ...ids,
    );
    return new Map(rows.map((row) => [row.id, recollectedFromRow(row)]));
  }

  async ofConversation(conversationId: string): Promise<StoredRecord[]> {
    return ofConversation(this.db, conversationId);
  }

  /** Records without a vector, oldest first. */
  async pending(limit = 50): Promise<StoredRecord[]> {
    return (
      await this.rows<Row>('SELECT * FROM dialogues WHERE embedded = 0 ORDER BY seq LIMIT ?', limit)
    ).map(fromRow);
  }

  /**
   * Deletes a conversation's records and their vectors, in one transaction, noting each vector
   * deleted for the other processes' indexes (`VectorStore.deletionsAfter`); returns what was removed.
   */
  deleteConversation(conversationId: string): Promise<StoredRecord[]> {
    return this.transaction(async (tx) => {
      const removed = await ofConversation(tx, conversationId);
      await tx.run(
        `INSERT INTO vector_deletions (record_id, vector_seq)
         SELECT record_id, seq FROM vectors WHERE record_id IN (SELECT id FROM dialogues WHERE conversation_id = ?)
         ORDER BY seq`,
        [conversationId],
      );
      await tx.run(
        'DELETE FROM vectors WHERE record_id IN (SELECT id FROM dialogues WHERE conversation_id = ?)',
        [conversationId],
      );
      await tx.run('DELETE FROM dialogues WHERE conversation_id = ?', [conversationId]);
      return removed;
    }, VECTOR_LOCK);
  }

  /** Records whose plan recalled one of these records (their ids are kept with the plan's turn), oldest first. */
  async recalling(recordIds: readonly string[]): Promise<StoredRecord[]> {
    const found = new Map<string, StoredRecord>();
    const contains = this.db.dialect === 'postgres' ? 'strpos(turns, ?) > 0' : 'instr(turns, ?) > 0';
    for (const id of recordIds) {
      for (const row of await this.rows<Row>(
        `SELECT * FROM dialogues WHERE ${contains} ORDER BY seq`,
        JSON.stringify(id),
      )) {
        const record = fromRow(row);
        if (record.turns.some((turn) => turn.recalled?.includes(id))) found.set(record.id, record);
      }
    }
    return [...found.values()].sort((a, b) => a.seq - b.seq);
  }

  /** Replaces a record's words (its task, answer and turns), the rest kept: a forgotten quote cut from them. */
  async rewrite(record: Pick<DialogueRecord, 'id' | 'task' | 'answer' | 'turns'>): Promise<void> {
    await this.run(
      'UPDATE dialogues SET task = ?, answer = ?, turns = ? WHERE id = ?',
      record.task,
      record.answer,
      JSON.stringify(record.turns),
      record.id,
    );
  }

  /**
   * Makes what a forget deleted unreadable from the storage too: SQLite's write-ahead log emptied
   * into the file, PostgreSQL's tables vacuumed (see `SqlDatabase.scrub`).
   */
  scrubDeleted(tables: ReadonlyArray<'dialogues' | 'vectors'>): Promise<boolean> {
    return this.scrub(tables);
  }

  async count(): Promise<{ total: number; pending: number }> {
    // Two counts, each from an index: one pass over the table would read every record.
    const total = await this.row<{ total: number }>('SELECT COUNT(*) AS total FROM dialogues');
    const pending = await this.row<{ pending: number }>(
      'SELECT COUNT(*) AS pending FROM dialogues WHERE embedded = 0',
    );
    return { total: Number(total?.total ?? 0), pending: Number(pending?.pending ?? 0) };
  }
}

async function ofConversation(session: SqlSession, conversationId: string): Promise<StoredRecord[]> {
  return (
    await session.all<Row>('SELECT * FROM dialogues WHERE conversation_id = ? ORDER BY seq', [conversationId])
  ).map(fromRow);
}

async function insertRecord(session: SqlSession, record: DialogueRecord): Promise<Row> {
  return (await session.get<Row>(
    `INSERT INTO dialogues (id, conversation_id, run, task, answer, turns, models, trajectory, final_dissonance,
         user_id, guild_id, channel_id, visibility, codex_version, started_at, finished_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       RETURNING *`,
    [
      record.id,
      record.conversationId,
      record.run,
      record.task,
      record.answer,
      JSON.stringify(record.turns),
      JSON.stringify(record.models),
      JSON.stringify(record.trajectory),
      record.finalDissonance,
      record.userId ?? null,
      record.guildId ?? null,
      record.channelId ?? null,
      record.visibility ?? null,
      record.codexVersion,
      record.startedAt,
      record.finishedAt,
    ],
  )) as Row;
}
