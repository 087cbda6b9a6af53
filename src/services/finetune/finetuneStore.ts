import { type Clock, systemClock } from '../clock.ts';
import type { Migration } from '../db/migrations.ts';
import { openStoreDatabase, type StoreLocation } from '../db/openStoreDatabase.ts';
import type { SqlDatabase, SqlSession } from '../db/sqlDatabase.ts';
import { autoKey, documentOf, SqlStore, updateDocument } from '../db/sqlStore.ts';
import { ActiveModels } from './activeModels.ts';
import type {
  ActiveModel,
  EvaluationReport,
  FinetuneJob,
  JobState,
  ModelVersion,
} from './finetuneRecords.ts';

export type {
  ActiveModel,
  EvaluationReport,
  ExamPartResult,
  ExamSummary,
  FinetuneJob,
  JobStage,
  JobState,
  JobTaint,
  ModelVersion,
} from './finetuneRecords.ts';

/**
 * The durable record of the fine-tuning loop (`DATA_DIR/finetune.sqlite`, or the `batos_finetune`
 * schema in PostgreSQL): every job with its progress and outcome, every model version a job
 * produced with its lineage, and the one pointer per persona that says which version is in
 * force. The pointer is flipped in one write (the "cognitive atomic swap"); a job in a running
 * state is the GPU lock, and survives restarts. What each model call reads of the pointer comes
 * from memory (`activeModels.ts`), refreshed from here every few seconds.
 */

const RUNNING: JobState[] = ['running'];

/**
 * The lock every write of a job takes: a job begins only while none runs, in every process at
 * once, and two changes to one job (its progress, a forget's taint) never overwrite each other.
 */
const JOBS_LOCK = 'bat-os:finetune:jobs';

/** The id a job's row holds for the moment between its insert and the id its number gives it. */
const NEW_JOB = 'ft-new';

const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'jobs, versions and the model in force',
    up: (tx) =>
      tx.exec(`
        CREATE TABLE IF NOT EXISTS jobs (
          ${autoKey(tx)},
          id TEXT NOT NULL UNIQUE,
          persona TEXT NOT NULL,
          state TEXT NOT NULL,
          data TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS versions (
          persona TEXT NOT NULL,
          version BIGINT NOT NULL,
          data TEXT NOT NULL,
          PRIMARY KEY (persona, version)
        );
        CREATE TABLE IF NOT EXISTS active (
          persona TEXT PRIMARY KEY,
          data TEXT NOT NULL
        );
      `),
  },
];

export interface FinetuneStoreOptions {
  /** What the view of the models in force ages by (default: the system's). */
  clock?: Clock;
  /** Told when the view of the models in force could not be refreshed (it stays as it was). */
  onError?: (error: unknown) => void;
}

const runningIn = async (session: SqlSession): Promise<FinetuneJob | undefined> =>
  documentOf<FinetuneJob>(
    await session.get<{ data: string }>(
      `SELECT data FROM jobs WHERE state IN (${RUNNING.map(() => '?').join(',')}) ORDER BY seq LIMIT 1`,
      RUNNING,
    ),
  );

async function updateIn(
  session: SqlSession,
  id: string,
  change: (job: FinetuneJob) => Partial<FinetuneJob>,
  at: number,
): Promise<FinetuneJob> {
  const current = documentOf<FinetuneJob>(
    await session.get<{ data: string }>('SELECT data FROM jobs WHERE id = ?', [id]),
  );
  if (!current) throw new Error(`no fine-tune job ${id}`);
  return updateDocument(session, 'jobs', current, change(current), at);
}

export class FinetuneStore extends SqlStore {
  private readonly models: ActiveModels;

  private constructor(db: SqlDatabase, options: FinetuneStoreOptions) {
    super(db);
    this.models = new ActiveModels({
      load: () => this.documents<ActiveModel>('SELECT data FROM active'),
      clock: options.clock ?? systemClock,
      ...(options.onError ? { onError: options.onError } : {}),
    });
  }

  /** Opens the record where `location` says, with the models in force read into memory. */
  static async open(location: StoreLocation, options: FinetuneStoreOptions = {}): Promise<FinetuneStore> {
    const db = await openStoreDatabase(location, {
      file: 'finetune.sqlite',
      schema: 'finetune',
      migrations: MIGRATIONS,
    });
    const store = new FinetuneStore(db, options);
    try {
      await store.models.refresh();
    } catch (error) {
      await db.close();
      throw error;
    }
    return store;
  }

  /**
   * Starts a job unless one holds the GPU: checked and written in one transaction under a lock,
   * so two triggers at once (or two processes) make one job. Returns the job, or the one running.
   */
  begin(
    fields: Omit<FinetuneJob, 'id'>,
  ): Promise<{ ok: true; job: FinetuneJob } | { ok: false; running: FinetuneJob }> {
    return this.transaction(async (tx) => {
      const running = await runningIn(tx);
      if (running) return { ok: false as const, running };
      // The job's id is its row's number, which only the insert gives (never reused, as before).
      const row = await tx.get<{ seq: number }>(
        'INSERT INTO jobs (id, persona, state, data) VALUES (?, ?, ?, ?) RETURNING seq',
        [NEW_JOB, fields.persona, fields.state, '{}'],
      );
      if (!row) throw new Error('the new fine-tune job was not stored');
      const job: FinetuneJob = { ...fields, id: `ft${row.seq}` };
      await tx.run('UPDATE jobs SET id = ?, data = ? WHERE seq = ?', [job.id, JSON.stringify(job), row.seq]);
      return { ok: true as const, job };
    }, JOBS_LOCK);
  }

  get(id: string): Promise<FinetuneJob | undefined> {
    return this.document<FinetuneJob>('SELECT data FROM jobs WHERE id = ?', id);
  }

  /** Stores `change` of the job as it is now (read and written under the lock). */
  update(id: string, change: (job: FinetuneJob) => Partial<FinetuneJob>, at: number): Promise<FinetuneJob> {
    return this.transaction((tx) => updateIn(tx, id, change, at), JOBS_LOCK);
  }

  /** The job holding the GPU, if any. */
  running(): Promise<FinetuneJob | undefined> {
    return runningIn(this.db);
  }

  /** Jobs, newest first (of one persona when given). */
  list(limit = 20, persona?: string): Promise<FinetuneJob[]> {
    return persona
      ? this.documents<FinetuneJob>(
          'SELECT data FROM jobs WHERE persona = ? ORDER BY seq DESC LIMIT ?',
          persona,
          limit,
        )
      : this.documents<FinetuneJob>('SELECT data FROM jobs ORDER BY seq DESC LIMIT ?', limit);
  }

  /** Records a new version (never replaces one). */
  async addVersion(version: ModelVersion): Promise<void> {
    await this.run(
      'INSERT INTO versions (persona, version, data) VALUES (?, ?, ?)',
      version.persona,
      version.version,
      JSON.stringify(version),
    );
  }

  async setVersionEvaluation(persona: string, version: number, evaluation: EvaluationReport): Promise<void> {
    await this.transaction(async (tx) => {
      const current = documentOf<ModelVersion>(
        await tx.get<{ data: string }>('SELECT data FROM versions WHERE persona = ? AND version = ?', [
          persona,
          version,
        ]),
      );
      if (!current) return;
      const next: ModelVersion = { ...current, evaluation };
      await tx.run('UPDATE versions SET data = ? WHERE persona = ? AND version = ?', [
        JSON.stringify(next),
        persona,
        version,
      ]);
    }, JOBS_LOCK);
  }

  versions(persona: string): Promise<ModelVersion[]> {
    return this.documents<ModelVersion>(
      'SELECT data FROM versions WHERE persona = ? ORDER BY version',
      persona,
    );
  }

  async nextVersion(persona: string): Promise<number> {
    const row = await this.row<{ v: number | null }>(
      'SELECT MAX(version) AS v FROM versions WHERE persona = ?',
      persona,
    );
    return (row?.v ?? 0) + 1;
  }

  /** The version in force for a persona, read from the database; none: the codex's own model. */
  active(persona: string): Promise<ActiveModel | undefined> {
    return this.document<ActiveModel>('SELECT data FROM active WHERE persona = ?', persona);
  }

  /**
   * The version in force for a persona as this process last saw it, without waiting: what each
   * model call reads. This process's own swaps are in it at once, another's within
   * `ACTIVE_REFRESH_MS` (`activeModels.ts`).
   */
  activeNow(persona: string): ActiveModel | undefined {
    return this.models.get(persona);
  }

  /** The swap: one write flips the persona's model (and, with it, the job's outcome). */
  async activate(
    active: ActiveModel,
    job?: { id: string; change: Partial<FinetuneJob>; at: number },
  ): Promise<void> {
    await this.transaction(async (tx) => {
      await tx.run(
        'INSERT INTO active (persona, data) VALUES (?, ?) ON CONFLICT(persona) DO UPDATE SET data = excluded.data',
        [active.persona, JSON.stringify(active)],
      );
      if (job) await updateIn(tx, job.id, () => job.change, job.at);
    }, JOBS_LOCK);
    this.models.set(active);
  }

  override async close(): Promise<void> {
    await this.models.close();
    await super.close();
  }
}
