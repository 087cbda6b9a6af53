import type { LlmProvider } from '../llm/chatModel.ts';
import { SqliteStore } from '../sqliteStore.ts';
import type { RegistrationPath, RegistrationRecord } from './registrar.ts';

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
  /** Not trained: the exam was too small for any candidate to be promoted (`note` says why). */
  | 'refused'
  | 'failed';

/** How the candidate fared on the general prompts of the exam (prompts outside the persona's history). */
export interface ExamPartResult {
  prompts: number;
  wins: number;
  losses: number;
  ties: number;
  /** (wins + ties / 2) / prompts. */
  score: number;
}

/**
 * A persona's frozen exam as a job drew it (`exam.ts`): its held-out prompts (the rule is applied
 * to these), its general prompts, and what a candidate would need on it.
 */
export interface ExamSummary {
  /** Held-out prompts judged (at most `FINETUNE_EVAL_PROMPTS`), and general prompts. */
  prompts: number;
  general: number;
  /** sha256 of the prompts judged: two evaluations with the same hash sat the same exam. */
  hash: string;
  /** Prompts this job added to the exam, and prompts withdrawn because their samples left the golden set. */
  appended: number;
  withdrawn: number;
  /** The smallest share of the held-out prompts the rule would promote; absent: none, the exam is too small. */
  smallestShare?: number;
  /** The rule in force (`FINETUNE_PROMOTE_RULE`), and the fewest held-out prompts on which it can promote at all. */
  rule: 'lower-bound' | 'majority';
  fewest: number;
}

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
  /** The general prompts, where the candidate must not be clearly worse (absent in older reports). */
  general?: ExamPartResult;
  /** The exam judged on (absent in older reports): its hash and sizes, to compare versions. */
  exam?: { hash: string; prompts: number; general: number };
  /** The smallest share of the held-out prompts the rule would have promoted; absent: none. */
  smallestShare?: number;
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
  /** How the candidate was put on its server: the path taken, the bytes sent. */
  registration?: RegistrationRecord;
  /** The persona's frozen exam as this job drew it. */
  exam?: ExamSummary;
  evaluation?: EvaluationReport;
  /** Why the job failed, in words anyone may read: no server address, path or command line. */
  error?: string;
  /** The same with what `error` leaves out (addresses, paths), for the log and an architect; absent when nothing was. */
  errorDetail?: string;
  /** Why a job ended untrained without failing (a refused job). */
  note?: string;
  /** The end of the trainer's log, for a failed job, as written (shown in public without the host's details). */
  logTail?: string;
  /** The trainer's process (group) while it runs: stopped at the next start if the bot died first. */
  trainerPid?: number;
  /**
   * Its frozen dataset (or exam) held dialogues forgotten since (`/memory forget`): the lines went
   * from its files, but a model it trained learned from them. Never promoted without an architect.
   */
  tainted?: JobTaint;
  decidedBy?: string;
}

/** What a forget took from a job's frozen files. */
export interface JobTaint {
  /** When it was last found, ms since the epoch. */
  at: number;
  /** Lines removed from its dataset, hold-out and exam, over every forget. */
  lines: number;
}

export interface ModelVersion {
  persona: string;
  version: number;
  /** The model's name on its server (`batos-robin-v3`). */
  model: string;
  /** Who serves it and how it was put there (absent in records older than the choice: Ollama, adapter). */
  provider?: LlmProvider;
  path?: RegistrationPath;
  /** The trainer's adapter folder, to load it again where a server forgets it (vLLM after a restart). */
  adapterDir?: string;
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

const SCHEMA = `
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
`;

export class FinetuneStore extends SqliteStore {
  constructor(dataDir: string) {
    super(dataDir, 'finetune.sqlite', SCHEMA);
  }

  /**
   * Starts a job unless one holds the GPU: checked and written in one transaction, so two
   * triggers at once (or two processes) make one job. Returns the job, or the one running.
   */
  begin(
    fields: Omit<FinetuneJob, 'id'>,
  ): { ok: true; job: FinetuneJob } | { ok: false; running: FinetuneJob } {
    return this.transaction(() => {
      const running = this.running();
      if (running) return { ok: false as const, running };
      const job: FinetuneJob = { ...fields, id: `ft${this.lastSeq('jobs') + 1}` };
      this.run(
        'INSERT INTO jobs (id, persona, state, data) VALUES (?, ?, ?, ?)',
        job.id,
        job.persona,
        job.state,
        JSON.stringify(job),
      );
      return { ok: true as const, job };
    }, 'immediate');
  }

  get(id: string): FinetuneJob | undefined {
    return this.document<FinetuneJob>('SELECT data FROM jobs WHERE id = ?', id);
  }

  update(id: string, change: (job: FinetuneJob) => Partial<FinetuneJob>, at: number): FinetuneJob {
    const current = this.get(id);
    if (!current) throw new Error(`no fine-tune job ${id}`);
    return this.updateDocument('jobs', current, change(current), at);
  }

  /** The job holding the GPU, if any. */
  running(): FinetuneJob | undefined {
    return this.document<FinetuneJob>(
      `SELECT data FROM jobs WHERE state IN (${RUNNING.map(() => '?').join(',')}) ORDER BY seq LIMIT 1`,
      ...RUNNING,
    );
  }

  /** Jobs, newest first (of one persona when given). */
  list(limit = 20, persona?: string): FinetuneJob[] {
    return persona
      ? this.documents<FinetuneJob>(
          'SELECT data FROM jobs WHERE persona = ? ORDER BY seq DESC LIMIT ?',
          persona,
          limit,
        )
      : this.documents<FinetuneJob>('SELECT data FROM jobs ORDER BY seq DESC LIMIT ?', limit);
  }

  /** Records a new version (never replaces one). */
  addVersion(version: ModelVersion): void {
    this.run(
      'INSERT INTO versions (persona, version, data) VALUES (?, ?, ?)',
      version.persona,
      version.version,
      JSON.stringify(version),
    );
  }

  setVersionEvaluation(persona: string, version: number, evaluation: EvaluationReport): void {
    const current = this.document<ModelVersion>(
      'SELECT data FROM versions WHERE persona = ? AND version = ?',
      persona,
      version,
    );
    if (!current) return;
    const next: ModelVersion = { ...current, evaluation };
    this.run(
      'UPDATE versions SET data = ? WHERE persona = ? AND version = ?',
      JSON.stringify(next),
      persona,
      version,
    );
  }

  versions(persona: string): ModelVersion[] {
    return this.documents<ModelVersion>(
      'SELECT data FROM versions WHERE persona = ? ORDER BY version',
      persona,
    );
  }

  nextVersion(persona: string): number {
    const row = this.row<{ v: number | null }>(
      'SELECT MAX(version) AS v FROM versions WHERE persona = ?',
      persona,
    );
    return (row?.v ?? 0) + 1;
  }

  /** The version in force for a persona; none: the codex's own model. */
  active(persona: string): ActiveModel | undefined {
    return this.document<ActiveModel>('SELECT data FROM active WHERE persona = ?', persona);
  }

  /** The swap: one write flips the persona's model (and, with it, the job's outcome). */
  activate(active: ActiveModel, job?: { id: string; change: Partial<FinetuneJob>; at: number }): void {
    this.transaction(() => {
      this.run(
        'INSERT INTO active (persona, data) VALUES (?, ?) ON CONFLICT(persona) DO UPDATE SET data = excluded.data',
        active.persona,
        JSON.stringify(active),
      );
      if (job) this.update(job.id, () => job.change, job.at);
    });
  }
}
