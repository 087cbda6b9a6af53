import type { LlmProvider } from '../llm/chatModel.ts';
import type { RegistrationPath, RegistrationRecord } from './registrar.ts';

/**
 * What the fine-tuning loop records (`finetuneStore.ts` keeps it): a job with its progress and
 * outcome, a model version a job produced with its lineage, and the pointer per persona that
 * says which version is in force.
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
   * The process running it (`processOwner.ts`): a running job whose process is gone is ended as
   * failed. Absent in records older than several processes: such a job belongs to nobody alive.
   */
  owner?: string;
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
  /**
   * The servers it was registered on, where they were a persona's `hosts` in the codex (base
   * URLs); absent: its provider's own server (`OLLAMA_HOST`, `OPENAI_BASE_URL`).
   */
  hosts?: string[];
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
