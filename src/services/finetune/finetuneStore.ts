import type Database from 'better-sqlite3';
import { openDatabase } from '../sqlite.ts';

/**
 * The durable record of the fine-tuning loop (`DATA_DIR/finetune.sqlite`): every job with its
 * progress and outcome, every model version a job produced with its lineage, and the one
 * pointer per persona that says which version is in force. The pointer is flipped in one write
 * (the "cognitive atomic swap"); a job in a running state is the GPU lock, and survives restarts.
 */

export type JobStage = 'snapshot' | 'training' | 'registering' | 'evaluating' | 'done';
export type JobState =
  /** Holds the GPU: snapshot, training, registration, evaluation. */
  | 'running'
  /** Better than the model in force; waits for the architect's Promote or Discard. */
  | 'awaiting_architect'
  /** Swapped in. */
  | 'promoted'
  /** Not better: the model in force stays. */
  | 'kept'
  /** The architect discarded it. */
  | 'discarded'
  | 'failed';

/** How the candidate fared against the model in force on the held-out prompts. */
export interface EvaluationReport {
  prompts: number;
  wins: number;
  losses: number;
  ties: number;
  /** (wins + ties / 2) / prompts. */
  score: number;
  /** The lower end of the 95% (Wilson) interval of `score`. */
  lowerBound: number;
  /** Answers that kept the persona's output format, candidate and model in force. */
  formatCandidate: number;
  formatIncumbent: number;
  rule: 'lower-bound' | 'majority';
  better: boolean;
  /** One line: why it is or is not promoted. */
  verdict: string;
}

export interface FinetuneJob {
  id: string;
  persona: string;
  trigger: 'schedule' | 'command';
  /** `system`, or the Discord user id that asked. */
  requestedBy: string;
  state: JobState;
  stage: JobStage;
  /** The Hugging Face weights trained on, and the Ollama model the adapter is applied to. */
  base: string;
  fromModel: string;
  startedAt: number;
  updatedAt: number;
  finishedAt?: number;
  /** The dataset snapshot: sha256, samples trained on (anchor included), held out, anchor. */
  datasetHash?: string;
  samples?: number;
  holdout?: number;
  anchor?: number;
  /** Golden samples the persona had when the job began (the next trigger counts from here). */
  goldenCount?: number;
  /** Training progress: steps and the loss at each. */
  totalSteps?: number;
  step?: number;
  losses: Array<[number, number]>;
  finalLoss?: number;
  /** The registered candidate and the version it would become. */
  candidate?: string;
  version?: number;
  evaluation?: EvaluationReport;
  error?: string;
  /** The end of the trainer's log, for a failed job. */
  logTail?: string;
  /** The trainer's process (group) while it runs: stopped at the next start if the bot died first. */
  trainerPid?: number;
  decidedBy?: string;
}

export interface ModelVersion {
  persona: string;
  version: number;
  /** The Ollama model name (`batos-robin-v3`). */
  model: string;
  base: string;
  fromModel: string;
  jobId: string;
  datasetHash: string;
  samples: number;
  evaluation?: EvaluationReport;
  createdAt: number;
}

export interface ActiveModel {
  persona: string;
  /** 0: the codex's own model. */
  version: number;
  model: string;
  since: number;
  by: string;
}

const RUNNING: JobState[] = ['running'];

export class FinetuneStore {
  private readonly db: Database.Database;

  constructor(dataDir: string) {
    this.db = openDatabase(dataDir, 'finetune.sqlite');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS jobs (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        persona TEXT NOT NULL,
        state TEXT NOT NULL,
        data TEXT NOT NULL
      );
      CREATE TABLE IF NOT EXISTS versions (
        persona TEXT NOT NULL,
        version INTEGER NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (persona, version)
      );
      CREATE TABLE IF NOT EXISTS active (
        persona TEXT PRIMARY KEY,
        data TEXT NOT NULL
      );
    `);
  }

  /**
   * Starts a job unless one holds the GPU: checked and written in one transaction, so two
   * triggers at once (or two processes) make one job. Returns the job, or the one running.
   */
  begin(
    fields: Omit<FinetuneJob, 'id'>,
  ): { ok: true; job: FinetuneJob } | { ok: false; running: FinetuneJob } {
    return this.db
      .transaction(() => {
        const running = this.running();
        if (running) return { ok: false as const, running };
        const row = this.db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'jobs'").get() as
          | { seq: number }
          | undefined;
        const job: FinetuneJob = { ...fields, id: `ft${(row?.seq ?? 0) + 1}` };
        this.db
          .prepare('INSERT INTO jobs (id, persona, state, data) VALUES (?, ?, ?, ?)')
          .run(job.id, job.persona, job.state, JSON.stringify(job));
        return { ok: true as const, job };
      })
      .immediate();
  }

  get(id: string): FinetuneJob | undefined {
    const row = this.db.prepare('SELECT data FROM jobs WHERE id = ?').get(id) as { data: string } | undefined;
    return row ? (JSON.parse(row.data) as FinetuneJob) : undefined;
  }

  update(id: string, change: (job: FinetuneJob) => Partial<FinetuneJob>, at: number): FinetuneJob {
    const current = this.get(id);
    if (!current) throw new Error(`no fine-tune job ${id}`);
    const next: FinetuneJob = { ...current, ...change(current), updatedAt: at };
    this.db
      .prepare('UPDATE jobs SET state = ?, data = ? WHERE id = ?')
      .run(next.state, JSON.stringify(next), id);
    return next;
  }

  /** The job holding the GPU, if any. */
  running(): FinetuneJob | undefined {
    const row = this.db
      .prepare(
        `SELECT data FROM jobs WHERE state IN (${RUNNING.map(() => '?').join(',')}) ORDER BY seq LIMIT 1`,
      )
      .get(...RUNNING) as { data: string } | undefined;
    return row ? (JSON.parse(row.data) as FinetuneJob) : undefined;
  }

  /** Jobs, newest first (of one persona when given). */
  list(limit = 20, persona?: string): FinetuneJob[] {
    const rows = persona
      ? this.db
          .prepare('SELECT data FROM jobs WHERE persona = ? ORDER BY seq DESC LIMIT ?')
          .all(persona, limit)
      : this.db.prepare('SELECT data FROM jobs ORDER BY seq DESC LIMIT ?').all(limit);
    return (rows as Array<{ data: string }>).map((row) => JSON.parse(row.data) as FinetuneJob);
  }

  /** Records a new version (never replaces one) and, in the same transaction, the job's state. */
  addVersion(version: ModelVersion): void {
    this.db
      .prepare('INSERT INTO versions (persona, version, data) VALUES (?, ?, ?)')
      .run(version.persona, version.version, JSON.stringify(version));
  }

  setVersionEvaluation(persona: string, version: number, evaluation: EvaluationReport): void {
    const row = this.db
      .prepare('SELECT data FROM versions WHERE persona = ? AND version = ?')
      .get(persona, version) as { data: string } | undefined;
    if (!row) return;
    const next: ModelVersion = { ...(JSON.parse(row.data) as ModelVersion), evaluation };
    this.db
      .prepare('UPDATE versions SET data = ? WHERE persona = ? AND version = ?')
      .run(JSON.stringify(next), persona, version);
  }

  versions(persona: string): ModelVersion[] {
    return (
      this.db.prepare('SELECT data FROM versions WHERE persona = ? ORDER BY version').all(persona) as Array<{
        data: string;
      }>
    ).map((row) => JSON.parse(row.data) as ModelVersion);
  }

  nextVersion(persona: string): number {
    const row = this.db.prepare('SELECT MAX(version) AS v FROM versions WHERE persona = ?').get(persona) as {
      v: number | null;
    };
    return (row.v ?? 0) + 1;
  }

  /** The version in force for a persona; none: the codex's own model. */
  active(persona: string): ActiveModel | undefined {
    const row = this.db.prepare('SELECT data FROM active WHERE persona = ?').get(persona) as
      | { data: string }
      | undefined;
    return row ? (JSON.parse(row.data) as ActiveModel) : undefined;
  }

  /** The swap: one write flips the persona's model (and, with it, the job's outcome). */
  activate(active: ActiveModel, job?: { id: string; change: Partial<FinetuneJob>; at: number }): void {
    this.db.transaction(() => {
      this.db
        .prepare(
          'INSERT INTO active (persona, data) VALUES (?, ?) ON CONFLICT(persona) DO UPDATE SET data = excluded.data',
        )
        .run(active.persona, JSON.stringify(active));
      if (job) this.update(job.id, () => job.change, job.at);
    })();
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
