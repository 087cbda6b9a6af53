import type { SqlDatabase, SqlSession } from '../db/sqlDatabase.ts';
import { VECTOR_LOCK } from './memorySchema.ts';

/** One embedding as the store keeps it. Rows are never changed: a new embedding is a new row. */
export interface StoredVector {
  /** Increasing, never reused: the vector's label in the hnswlib index. */
  seq: number;
  recordId: string;
  /** The embedding model it came from. */
  model: string;
  vector: Float32Array;
}

/** What the store holds, in a few numbers: enough to tell whether a snapshot can be its copy. */
export interface VectorSummary {
  count: number;
  /** The highest `seq` ever given (0 when none), deleted rows included. */
  lastSeq: number;
  /** The distinct embedding models, sorted. */
  models: string[];
  /** The vectors' dimension; undefined when there are none. */
  dimension: number | undefined;
}

/** A snapshot of the search index: an hnswlib file, and what it holds. */
export interface SnapshotMeta {
  version: 2;
  /**
   * The hnswlib file, in the index's folder. A new name for every snapshot, so a recorded
   * snapshot never names a file being replaced; older ones are removed once it is recorded.
   */
  file: string;
  /** The embedding models of its vectors, sorted. */
  models: string[];
  dimension: number;
  /** The highest label (vector `seq`) it holds: the store's vectors after it are replayed. */
  lastSeq: number;
  /** Labels in it not marked deleted. */
  live: number;
  /** hnswlib's element count when it was written, deleted elements included. */
  elements: number;
  /** When it was written, ms since the epoch. */
  writtenAt: number;
}

/** Where the latest snapshot of an index is recorded: its commit point (a row beside the vectors, or a local file). */
export interface SnapshotRecord {
  /** The latest snapshot recorded, if any. */
  snapshot(): Promise<SnapshotMeta | undefined>;
  /** Records a snapshot whose file is already durable (undefined: none): its commit point. */
  recordSnapshot(meta: SnapshotMeta | undefined): Promise<void>;
}

/**
 * The durable side of the search index: the vectors it is a copy of, which `VectorIndex.restore`
 * rebuilds from or brings a snapshot level with (without asking the embedding model), and the
 * record of its latest snapshot, kept so that the two never disagree after a crash.
 */
export interface VectorSource extends SnapshotRecord {
  summary(): Promise<VectorSummary>;
  /** Every vector's label and record id (no vector data), in no particular order. */
  labels(): Promise<Array<{ seq: number; recordId: string }>>;
  /** At most `limit` vectors with a `seq` above `seq`, oldest first (read in pages: no cursor stays open). */
  after(seq: number, limit: number): Promise<StoredVector[]>;
}

/** A vector deleted (a forget, a rebuild), as another process replays it: its label leaves that process's index. */
export interface VectorDeletion {
  /** Increasing: the cursor of a process replaying them. */
  seq: number;
  recordId: string;
  /** The deleted vector's label. */
  vectorSeq: number;
}

/** A vector of an index written before the vectors were stored, to import under its old label. */
export interface LegacyVector {
  seq: number;
  recordId: string;
  vector: readonly number[];
}

interface VectorRow {
  seq: number;
  record_id: string;
  model: string;
  dimension: number;
  vector: Buffer;
}

function fromRow(row: VectorRow): StoredVector {
  // A copy: the row's buffer is not guaranteed to be 4-byte aligned.
  const bytes = new Uint8Array(row.vector);
  return {
    seq: Number(row.seq),
    recordId: row.record_id,
    model: row.model,
    vector: new Float32Array(bytes.buffer, 0, Number(row.dimension)),
  };
}

const bytesOf = (data: Float32Array) => Buffer.from(data.buffer, data.byteOffset, data.byteLength);

/**
 * The `vectors` table of the memory's database: one Float32 embedding per recorded dialogue (a
 * BYTEA in PostgreSQL), written in the same transaction that marks the dialogue embedded
 * (`dialogues.embedded`), so a record is embedded exactly when its vector is durable.
 *
 * Every process keeps its own index and replays the vectors (and `vector_deletions`) numbered
 * after the last it saw. That is only sound if no row appears later with a lower number than
 * one already read: so vectors and deletions are numbered and committed under one lock
 * (`VECTOR_LOCK`), one writer at a time, in the order of their numbers.
 */
export class VectorStore implements VectorSource {
  constructor(private readonly db: SqlDatabase) {}

  /**
   * Stores the vector of a record and marks the record embedded, in one transaction; a vector it
   * had before is replaced (under a new `seq`). Returns undefined when the record no longer
   * exists (forgotten while it was being embedded).
   */
  put(recordId: string, model: string, vector: ArrayLike<number>): Promise<StoredVector | undefined> {
    const data = Float32Array.from(vector);
    return this.db.transaction(
      async (tx) => {
        const marked = await tx.run('UPDATE dialogues SET embedded = 1 WHERE id = ?', [recordId]);
        if (marked.changes === 0) return undefined;
        await tx.run('DELETE FROM vectors WHERE record_id = ?', [recordId]);
        const row = (await tx.get<{ seq: number }>(
          'INSERT INTO vectors (record_id, model, dimension, vector) VALUES (?, ?, ?, ?) RETURNING seq',
          [recordId, model, data.length, bytesOf(data)],
        )) as { seq: number };
        return { seq: Number(row.seq), recordId, model, vector: data };
      },
      { lock: VECTOR_LOCK },
    );
  }

  /**
   * Imports an index written before this table existed, in one transaction: each vector whose
   * record exists and has none goes in under its old label (which becomes its `seq`), new
   * vectors are numbered above `lastSeq`, and the old file is recorded as the snapshot. Returns
   * how many were imported.
   */
  importLegacy(
    model: string,
    vectors: readonly LegacyVector[],
    lastSeq: number,
    meta: SnapshotMeta,
  ): Promise<number> {
    return this.db.transaction(
      async (tx) => {
        let imported = 0;
        for (const { seq, recordId, vector } of vectors) {
          const marked = await tx.run('UPDATE dialogues SET embedded = 1 WHERE id = ? AND embedded = 0', [
            recordId,
          ]);
          if (marked.changes === 0) continue;
          const data = Float32Array.from(vector);
          await tx.run(
            'INSERT INTO vectors (seq, record_id, model, dimension, vector) VALUES (?, ?, ?, ?, ?)',
            [seq, recordId, model, data.length, bytesOf(data)],
          );
          imported++;
        }
        await reserveThrough(tx, lastSeq);
        await writeSnapshotRow(tx, SNAPSHOT_KEY, meta);
        return imported;
      },
      { lock: VECTOR_LOCK },
    );
  }

  /** Deletes every vector and marks every record as needing one (a rebuild with a new model). */
  clear(): Promise<void> {
    return this.db.transaction(
      async (tx) => {
        await tx.run(
          'INSERT INTO vector_deletions (record_id, vector_seq) SELECT record_id, seq FROM vectors ORDER BY seq',
        );
        await tx.run('DELETE FROM vectors');
        await tx.run('UPDATE dialogues SET embedded = 0 WHERE embedded = 1');
      },
      { lock: VECTOR_LOCK },
    );
  }

  async get(recordId: string): Promise<StoredVector | undefined> {
    const row = await this.db.get<VectorRow>('SELECT * FROM vectors WHERE record_id = ?', [recordId]);
    return row ? fromRow(row) : undefined;
  }

  async count(): Promise<number> {
    return Number((await this.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM vectors'))?.n ?? 0);
  }

  async summary(): Promise<VectorSummary> {
    const kinds = await this.db.all<{ model: string; dimension: number }>(
      'SELECT DISTINCT model, dimension FROM vectors ORDER BY model',
    );
    return {
      count: await this.count(),
      lastSeq: await lastVectorSeq(this.db),
      models: [...new Set(kinds.map((k) => k.model))],
      // One dimension at a time: a vector of another is refused before it is stored.
      dimension: kinds[0] ? Number(kinds[0].dimension) : undefined,
    };
  }

  snapshot(): Promise<SnapshotMeta | undefined> {
    return this.recordIn(SNAPSHOT_KEY).snapshot();
  }

  recordSnapshot(meta: SnapshotMeta | undefined): Promise<void> {
    return this.recordIn(SNAPSHOT_KEY).recordSnapshot(meta);
  }

  /** The snapshot record kept in this database under `key` (one per process folder sharing a SQLite file). */
  recordIn(key: string): SnapshotRecord {
    return {
      snapshot: async () => {
        const row = await this.db.get<{ value: string }>('SELECT value FROM memory_meta WHERE key = ?', [
          key,
        ]);
        return row ? (JSON.parse(row.value) as SnapshotMeta) : undefined;
      },
      recordSnapshot: (meta) => writeSnapshotRow(this.db, key, meta),
    };
  }

  async labels(): Promise<Array<{ seq: number; recordId: string }>> {
    // Served from the record_id index, which holds the seq too: the vector data is not read.
    const sql =
      this.db.dialect === 'sqlite'
        ? 'SELECT seq, record_id AS "recordId" FROM vectors INDEXED BY vectors_record'
        : 'SELECT seq, record_id AS "recordId" FROM vectors';
    return (await this.db.all<{ seq: number; recordId: string }>(sql)).map((row) => ({
      seq: Number(row.seq),
      recordId: row.recordId,
    }));
  }

  async after(seq: number, limit: number): Promise<StoredVector[]> {
    return (
      await this.db.all<VectorRow>('SELECT * FROM vectors WHERE seq > ? ORDER BY seq LIMIT ?', [seq, limit])
    ).map(fromRow);
  }

  /** At most `limit` deletions numbered above `seq`, oldest first. */
  async deletionsAfter(seq: number, limit: number): Promise<VectorDeletion[]> {
    const rows = await this.db.all<{ seq: number; record_id: string; vector_seq: number }>(
      'SELECT seq, record_id, vector_seq FROM vector_deletions WHERE seq > ? ORDER BY seq LIMIT ?',
      [seq, limit],
    );
    return rows.map((row) => ({
      seq: Number(row.seq),
      recordId: row.record_id,
      vectorSeq: Number(row.vector_seq),
    }));
  }

  /** The highest `seq` of a stored vector and of a deletion (0 when none): where a replay starts. */
  async cursors(): Promise<{ vectors: number; deletions: number }> {
    const vectors = await this.db.get<{ n: number | null }>('SELECT MAX(seq) AS n FROM vectors');
    const deletions = await this.db.get<{ n: number | null }>('SELECT MAX(seq) AS n FROM vector_deletions');
    return { vectors: Number(vectors?.n ?? 0), deletions: Number(deletions?.n ?? 0) };
  }
}

const SNAPSHOT_KEY = 'snapshot';

async function writeSnapshotRow(
  session: SqlSession,
  key: string,
  meta: SnapshotMeta | undefined,
): Promise<void> {
  if (meta)
    await session.run(
      'INSERT INTO memory_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      [key, JSON.stringify(meta)],
    );
  else await session.run('DELETE FROM memory_meta WHERE key = ?', [key]);
}

/**
 * The highest `seq` ever given to a vector, deleted ones included (0 when none). The engine's
 * own counter knows it: SQLite's AUTOINCREMENT record, PostgreSQL's identity sequence.
 */
async function lastVectorSeq(session: SqlSession): Promise<number> {
  const row =
    session.dialect === 'sqlite'
      ? await session.get<{ seq: number | null }>("SELECT seq FROM sqlite_sequence WHERE name = 'vectors'")
      : await session.get<{ seq: number | null }>(
          "SELECT last_value AS seq FROM pg_sequences WHERE schemaname = current_schema() AND sequencename = 'vectors_seq_seq'",
        );
  return Number(row?.seq ?? 0);
}

/** New vectors get a `seq` above `seq` (labels an imported index used are never given again). */
async function reserveThrough(session: SqlSession, seq: number): Promise<void> {
  if (session.dialect === 'postgres') {
    await session.get(
      "SELECT setval(pg_get_serial_sequence('vectors', 'seq'), GREATEST(?, (SELECT COALESCE(MAX(seq), 1) FROM vectors)))",
      [Math.max(seq, 1)],
    );
    return;
  }
  const updated = await session.run("UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = 'vectors'", [
    seq,
  ]);
  if (updated.changes === 0)
    await session.run("INSERT INTO sqlite_sequence (name, seq) VALUES ('vectors', ?)", [seq]);
}
