import type { Clock } from '../clock.ts';
import type { CurationSettings } from '../codex/codexSchema.ts';
import type { CurationScope } from '../curation/curationScope.ts';
import type { GoldenReader } from '../curation/goldenStore.ts';
import type { ProcessOwner } from '../db/processOwner.ts';
import type { Refusal } from '../errors.ts';
import type { EventBus } from '../eventBus.ts';
import type { LlmProvider, ModelFor } from '../llm/chatModel.ts';
import type { Limiter } from '../llm/limiter.ts';
import type { Logger } from '../logger.ts';
import type { PersonaRegistry } from '../personas.ts';
import type { FinetuneJob, FinetuneStore } from './finetuneStore.ts';
import type { RegistrarAt, Registrars } from './registrar.ts';

export interface FinetuneSettings {
  command: string;
  /** Trainer settings passed as `--config`. */
  config?: Record<string, unknown>;
  /** Names the trainer's environment gets besides what training needs (`FINETUNE_ENV`; `X_*`: a prefix). */
  env?: readonly string[];
  timeoutMs: number;
  holdout: number;
  triggerSize: number;
  rule: 'lower-bound' | 'majority';
  promotion: 'auto' | 'architect';
  /** Dialogues wait while the trainer has the GPU. */
  exclusive: boolean;
  evalPrompts: number;
  /** Which samples a dataset may take (`CURATION_SCOPE`; default `public`). */
  scope?: CurationScope;
  /** Largest share of a dataset from one member (`FINETUNE_MEMBER_SHARE`; default 0.25). */
  memberShare?: number;
  /**
   * Who judges the evaluation: the codex's curation judge (ALFRED by default) with its
   * `judge_model` (on its `judge_provider`) if the codex names one, else the codex's model for it
   * (never a fine-tuned one: a candidate must not judge its kin). Read at each evaluation: an
   * amendment may change it.
   */
  judge: () => CurationSettings;
}

export interface FineTunerDeps {
  store: FinetuneStore;
  /** Which process runs a job, and whether it lives (default: this process alone, as with SQLite). */
  owners?: ProcessOwner;
  dataDir: string;
  personas: () => PersonaRegistry;
  modelFor: ModelFor;
  /** Where a job's snapshot reads the golden sets: the golden store (default: the files under `dataDir`). */
  golden?: GoldenReader;
  /** How many golden samples a persona has (default: counted in its file). */
  goldenCount?: (personaId: string) => Promise<number>;
  /** Who serves a persona's model (default: Ollama for all): its registrar puts a fine-tuned one there. */
  providerOf?: (personaId: string) => LlmProvider;
  /** How each kind of server takes a fine-tuned model (Ollama, vLLM); absent: that server cannot. */
  registrars: Registrars;
  /** The registrar at each of a persona's `hosts`: a fine-tuned version goes to every one of them. */
  registrarAt: RegistrarAt;
  limiter: Limiter;
  /** Whether an answer keeps a persona's output format (ROBIN's DISSONANCE line, BRICK's tool lines). */
  formatOk: (personaId: string, text: string) => boolean;
  /** A persona's system prompt in force, put before the exam's general prompts (default: its codex prompt alone). */
  systemPrompt?: (personaId: string) => string;
  bus: EventBus;
  clock: Clock;
  logger: Logger;
  settings: FinetuneSettings;
  /** The trainer's working directory (default: the current one). */
  cwd?: string;
  /** The bot's environment when a trainer starts: the trainer gets only what training needs of it (`trainerEnv.ts`). */
  environment: () => Readonly<Record<string, string | undefined>>;
}

export type FinetuneRefusalCode =
  | 'UNKNOWN_PERSONA'
  | 'NO_BASE'
  | 'CANNOT_SERVE'
  | 'NO_SAMPLES'
  | 'BUSY'
  | 'NO_SUCH_JOB'
  | 'NOT_AWAITING'
  | 'NO_SUCH_VERSION'
  | 'ALREADY_ACTIVE'
  | 'NO_LOCK';

export type FinetuneDecision =
  | { ok: true; job: FinetuneJob }
  | (Refusal<FinetuneRefusalCode> & { job?: FinetuneJob });

/**
 * The fine-tuner's dependencies as its steps use them: the module's logger, the signal that
 * stops a job when the bot shuts down, how golden samples are counted, and who runs a job.
 */
export interface FinetuneRuntime extends FineTunerDeps {
  owners: ProcessOwner;
  log: Logger;
  signal: AbortSignal;
  countGolden: (personaId: string) => Promise<number>;
}

export const refuse = (code: FinetuneRefusalCode, reason: string, job?: FinetuneJob) => ({
  ok: false as const,
  code,
  reason,
  ...(job ? { job } : {}),
});

/** Stores a change to a job and publishes the job as it now is. */
export async function updateJob(
  deps: Pick<FineTunerDeps, 'store' | 'bus' | 'clock'>,
  id: string,
  change: Partial<FinetuneJob>,
): Promise<FinetuneJob> {
  const job = await deps.store.update(id, () => change, deps.clock.now());
  deps.bus.publish('finetune_job', { job });
  return job;
}
