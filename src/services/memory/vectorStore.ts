import type Database from 'better-sqlite3';

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

/**
 * The durable side of the search index: the vectors it is a copy of, which `VectorIndex.restore`
 * rebuilds from or brings a snapshot level with (without asking the embedding model), and the
 * record of its latest snapshot, kept beside them so that the two never disagree after a crash.
 */
export interface VectorSource {
  summary(): VectorSummary;
  /** Every vector's label and record id (no vector data), in no particular order; read at once. */
  labels(): Iterable<{ seq: number; recordId: string }>;
  /** At most `limit` vectors with a `seq` above `seq`, oldest first (read in pages: no cursor stays open). */
  after(seq: number, limit: number): StoredVector[];
  /** The latest snapshot recorded, if any. */
  snapshot(): SnapshotMeta | undefined;
  /** Records a snapshot whose file is already durable (undefined: none): its commit point. */
  recordSnapshot(meta: SnapshotMeta | undefined): void;
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
    seq: row.seq,
    recordId: row.record_id,
    model: row.model,
    vector: new Float32Array(bytes.buffer, 0, row.dimension),
  };
}

/**
 * The `vectors` table of `memory.sqlite`: one Float32 embedding per recorded dialogue, written in
 * the same transaction that marks the dialogue embedded (`dialogues.embedded`), so a record is
 * embedded exactly when its vector is durable.
 */
export class VectorStore implements VectorSource {
  constructor(private readonly db: Database.Database) {
    const fresh = !db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'vectors'").get();
    db.exec(`
      CREATE TABLE IF NOT EXISTS vectors (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        record_id TEXT NOT NULL,
        model TEXT NOT NULL,
        dimension INTEGER NOT NULL,
        vector BLOB NOT NULL
      );
      CREATE UNIQUE INDEX IF NOT EXISTS vectors_record ON vectors (record_id);
      CREATE INDEX IF NOT EXISTS vectors_model ON vectors (model, dimension);
      CREATE TABLE IF NOT EXISTS memory_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    `);
    // Before this table existed, `embedded` meant "in the index file": no longer true of any record.
    if (fresh) db.prepare('UPDATE dialogues SET embedded = 0 WHERE embedded = 1').run();
  }

  /**
   * Stores the vector of a record and marks the record embedded, in one transaction; a vector it
   * had before is replaced (under a new `seq`). Returns undefined when the record no longer
   * exists (forgotten while it was being embedded).
   */
  put(recordId: string, model: string, vector: ArrayLike<number>): StoredVector | undefined {
    return this.db.transaction(() => {
      const marked = this.db.prepare('UPDATE dialogues SET embedded = 1 WHERE id = ?').run(recordId);
      if (marked.changes === 0) return undefined;
      this.db.prepare('DELETE FROM vectors WHERE record_id = ?').run(recordId);
      const data = Float32Array.from(vector);
      const { seq } = this.db
        .prepare(
          'INSERT INTO vectors (record_id, model, dimension, vector) VALUES (?, ?, ?, ?) RETURNING seq',
        )
        .get(recordId, model, data.length, Buffer.from(data.buffer)) as { seq: number };
      return { seq, recordId, model, vector: data };
    })();
  }

  /**
   * Stores a vector under a given `seq` (importing an index written before this table existed,
   * whose labels become the seqs). The record must exist and have no vector.
   */
  importAt(seq: number, recordId: string, model: string, vector: readonly number[]): boolean {
    const marked = this.db
      .prepare('UPDATE dialogues SET embedded = 1 WHERE id = ? AND embedded = 0')
      .run(recordId);
    if (marked.changes === 0) return false;
    const data = Float32Array.from(vector);
    this.db
      .prepare('INSERT INTO vectors (seq, record_id, model, dimension, vector) VALUES (?, ?, ?, ?, ?)')
      .run(seq, recordId, model, data.length, Buffer.from(data.buffer));
    return true;
  }

  /** New vectors get a `seq` above `seq` (labels an imported index used are never given again). */
  reserveThrough(seq: number): void {
    const updated = this.db
      .prepare("UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = 'vectors'")
      .run(seq);
    if (updated.changes === 0)
      this.db.prepare("INSERT INTO sqlite_sequence (name, seq) VALUES ('vectors', ?)").run(seq);
  }

  /** Runs `work` in one transaction (an import of many vectors). */
  transaction<T>(work: () => T): T {
    return this.db.transaction(work)();
  }

  /** Deletes every vector and marks every record as needing one (a rebuild with a new model). */
  clear(): void {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM vectors').run();
      this.db.prepare('UPDATE dialogues SET embedded = 0 WHERE embedded = 1').run();
    })();
  }

  get(recordId: string): StoredVector | undefined {
    const row = this.db.prepare('SELECT * FROM vectors WHERE record_id = ?').get(recordId) as
      | VectorRow
      | undefined;
    return row ? fromRow(row) : undefined;
  }

  count(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM vectors').get() as { n: number }).n;
  }

  summary(): VectorSummary {
    const kinds = this.db
      .prepare('SELECT DISTINCT model, dimension FROM vectors ORDER BY model')
      .all() as Array<{ model: string; dimension: number }>;
    const sequence = this.db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'vectors'").get() as
      | { seq: number }
      | undefined;
    return {
      count: this.count(),
      lastSeq: sequence?.seq ?? 0,
      models: [...new Set(kinds.map((k) => k.model))],
      // One dimension at a time: a vector of another is refused before it is stored.
      dimension: kinds[0]?.dimension,
    };
  }

  snapshot(): SnapshotMeta | undefined {
    const row = this.db.prepare("SELECT value FROM memory_meta WHERE key = 'snapshot'").get() as
      | { value: string }
      | undefined;
    return row ? (JSON.parse(row.value) as SnapshotMeta) : undefined;
  }

  recordSnapshot(meta: SnapshotMeta | undefined): void {
    if (meta)
      this.db
        .prepare("INSERT OR REPLACE INTO memory_meta (key, value) VALUES ('snapshot', ?)")
        .run(JSON.stringify(meta));
    else this.db.prepare("DELETE FROM memory_meta WHERE key = 'snapshot'").run();
  }

  labels(): Iterable<{ seq: number; recordId: string }> {
    // Served from the record_id index, which holds the seq too: the vector data is not read.
    return this.db
      .prepare('SELECT seq, record_id AS recordId FROM vectors INDEXED BY vectors_record')
      .iterate() as Iterable<{ seq: number; recordId: string }>;
  }

  after(seq: number, limit: number): StoredVector[] {
    return (
      this.db
        .prepare('SELECT * FROM vectors WHERE seq > ? ORDER BY seq LIMIT ?')
        .all(seq, limit) as VectorRow[]
    ).map(fromRow);
  }
}
