import { processOwner } from '../db/processOwner.ts';
import type { Refusal } from '../errors.ts';
import type { Forgotten } from '../forgetting/forgotten.ts';
import type { JobSpec } from '../scheduler.ts';
import { goldenCount } from './datasetSnapshot.ts';
import type {
  FineTunerDeps,
  FinetuneDecision,
  FinetuneRefusalCode,
  FinetuneRuntime,
} from './fineTunerDeps.ts';
import type { ActiveModel, FinetuneJob, ModelVersion } from './finetuneStore.ts';
import { type FinetuneForgetReport, forgetInDatasets } from './forgottenDatasets.ts';
import { decideJob, endInterruptedJob, JobSlot, scheduledJob, startJob } from './jobLifecycle.ts';
import { activeOf, rollback } from './modelSwap.ts';
import { followPointer, restoreActive, retireVersionOf } from './serving.ts';

export type {
  FineTunerDeps,
  FinetuneDecision,
  FinetuneRefusalCode,
  FinetuneSettings,
} from './fineTunerDeps.ts';

/**
 * The UnslothForge (the strategic loop's second half): when a persona's golden set has grown
 * enough, or an architect asks, fine-tune its model on the host GPU, register it with each of the
 * persona's servers (Ollama or vLLM, `registrar.ts`) under an immutable name, judge it against the
 * model in force on the persona's frozen exam (`exam.ts`), and — only if it is better, and once
 * the architect promotes it unless `FINETUNE_PROMOTION=auto` — flip the persona's model in one
 * write. One job at a time; every version kept with its lineage; a rollback flips back at once.
 *
 * The steps of a job are in `runJob.ts`, its life around them in `jobLifecycle.ts`, the swap and
 * the rollback in `modelSwap.ts`, what the servers do when the pointer moves in `serving.ts`;
 * this binds them to their dependencies.
 */
export interface FineTuner {
  /** Starts a fine-tune of `persona` (the job runs on; its progress is published). */
  start(
    persona: string,
    trigger: { trigger: FinetuneJob['trigger']; requestedBy: string },
  ): Promise<FinetuneDecision>;
  /** Waits for starts deciding, the running job, if any, and for the servers to follow the last swap or rollback. */
  settled(): Promise<void>;
  /** The scheduled job: the next persona whose golden set grew by `triggerSize`, to the end. */
  job(cron: string): JobSpec;
  promote(jobId: string, userId: string): Promise<FinetuneDecision>;
  discard(jobId: string, userId: string): Promise<FinetuneDecision>;
  /** Flips back to `version` (default: the one before; 0: the codex's own model). */
  rollback(
    persona: string,
    userId: string,
    version?: number,
  ): Promise<Refusal<FinetuneRefusalCode> | { ok: true; active: ActiveModel }>;
  /**
   * The model in force for a persona when it is a fine-tuned one, as this process last saw it
   * (never waits: a swap in another process is seen within `ACTIVE_REFRESH_MS`).
   */
  activeModel(persona: string): string | undefined;
  active(persona: string): Promise<ActiveModel | undefined>;
  versions(persona: string): Promise<ModelVersion[]>;
  /** The running job, else the latest. */
  current(): Promise<FinetuneJob | undefined>;
  jobs(limit?: number): Promise<FinetuneJob[]>;
  get(id: string): Promise<FinetuneJob | undefined>;
  /**
   * Removes forgotten dialogues from the frozen datasets and exams, marks the jobs that held them
   * tainted, and names the models in force they made (`forgottenDatasets.ts`).
   */
  forgetDialogues(forgotten: Forgotten): Promise<FinetuneForgetReport>;
  /**
   * Stops the running job; lets go of this process's lock (`processOwner.ts`) when the fine-tuner
   * made its own (one given to it is the process's, closed by whoever made it).
   */
  close(): Promise<void>;
}

/**
 * Builds the fine-tuner; first ends as failed a job whose process died (this bot before a
 * restart), and has the servers load again the versions in force they forgot.
 */
export async function createFineTuner(deps: FineTunerDeps): Promise<FineTuner> {
  const { store } = deps;
  const slot = new JobSlot();
  const runtime: FinetuneRuntime = {
    ...deps,
    owners: deps.owners ?? processOwner(),
    log: deps.logger.child({ module: 'finetune' }),
    signal: slot.signal,
    // The manifests' counts when curation keeps them; else the files, line by line.
    countGolden: deps.goldenCount ?? (async (persona) => goldenCount(deps.dataDir, persona)),
  };
  await endInterruptedJob(runtime);
  // A server that forgets on restart (vLLM's runtime adapters) gets the versions in force again.
  slot.chore(
    restoreActive(
      runtime,
      deps
        .personas()
        .list()
        .map((p) => p.id),
    ),
  );
  return {
    start: (persona, trigger) => slot.start(startJob(runtime, slot, persona, trigger)),
    settled: () => slot.settled(),
    job: (cron) => scheduledJob(runtime, slot, cron),
    promote: (jobId, userId) => decideJob(runtime, jobId, userId, 'promote'),
    async discard(jobId, userId) {
      const decision = await decideJob(runtime, jobId, userId, 'discard');
      const { job } = decision;
      if (decision.ok && job?.version) slot.chore(retireVersionOf(runtime, job.persona, job.version));
      return decision;
    },
    async rollback(persona, userId, version) {
      const left = deps.personas().has(persona) ? (await activeOf(runtime, persona)).version : 0;
      const rolled = await rollback(runtime, persona, userId, version);
      if (rolled.ok) slot.chore(followPointer(runtime, persona, left, rolled.active.version));
      return rolled;
    },
    activeModel(persona) {
      const active = store.activeNow(persona);
      return active && active.version > 0 ? active.model : undefined;
    },
    active: (persona) => store.active(persona),
    versions: (persona) => store.versions(persona),
    current: async () => (await store.running()) ?? (await store.list(1))[0],
    jobs: (limit) => store.list(limit),
    get: (id) => store.get(id),
    forgetDialogues: (forgotten) => forgetInDatasets(runtime, forgotten),
    async close() {
      await slot.close();
      if (!deps.owners) await runtime.owners.close();
    },
  };
}
