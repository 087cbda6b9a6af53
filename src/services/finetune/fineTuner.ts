import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Clock } from '../clock.ts';
import type { Refusal } from '../errors.ts';
import type { EventBus } from '../eventBus.ts';
import type { ChatMessage, LlmProvider, ModelFor } from '../llm/chatModel.ts';
import { BACKGROUND_PRIORITY, type Limiter } from '../llm/limiter.ts';
import type { Logger } from '../logger.ts';
import type { PersonaRegistry } from '../personas.ts';
import type { JobSpec } from '../scheduler.ts';
import { goldenCount, snapshotDataset } from './datasetSnapshot.ts';
import { evaluate, PAIRWISE_SCHEMA, promptsOf } from './evaluation.ts';
import type { ActiveModel, FinetuneJob, FinetuneStore, ModelVersion } from './finetuneStore.ts';
import type { ModelHost } from './ollamaAdapters.ts';
import { runTrainer } from './trainerRun.ts';

/**
 * The UnslothForge (the strategic loop's second half): when a persona's golden set has grown
 * enough, or an architect asks, fine-tune its model on the host GPU, register the adapter with
 * Ollama under an immutable name, judge it against the model in force on held-out prompts, and
 * — only if it is better — flip the persona's model in one write. One job at a time; every
 * version kept with its lineage; a rollback flips back at once.
 */

export interface FinetuneSettings {
  command: string;
  /** Trainer settings passed as `--config`. */
  config?: Record<string, unknown>;
  timeoutMs: number;
  holdout: number;
  triggerSize: number;
  rule: 'lower-bound' | 'majority';
  promotion: 'auto' | 'architect';
  /** Dialogues wait while the trainer has the GPU. */
  exclusive: boolean;
  evalPrompts: number;
  /**
   * Who judges the evaluation: the codex's curation judge (ALFRED by default) with its own model
   * if the codex names one, else the codex's model for it (never a fine-tuned one: a candidate
   * must not judge its kin). Read at each evaluation: an amendment may change it.
   */
  judge: () => { judge: string; model?: string | undefined };
}

export interface FineTunerDeps {
  store: FinetuneStore;
  dataDir: string;
  personas: () => PersonaRegistry;
  modelFor: ModelFor;
  /** How many golden samples a persona has (default: counted in its file). */
  goldenCount?: (personaId: string) => number;
  /** Who serves a persona's model: only Ollama can register a fine-tuned one (default: Ollama for all). */
  providerOf?: (personaId: string) => LlmProvider;
  host: ModelHost;
  limiter: Limiter;
  /** Whether an answer keeps a persona's output format (ROBIN's DISSONANCE line, BRICK's tool lines). */
  formatOk: (personaId: string, text: string) => boolean;
  bus: EventBus;
  clock: Clock;
  logger: Logger;
  settings: FinetuneSettings;
  /** The trainer's working directory (default: the current one). */
  cwd?: string;
}

export type FinetuneRefusalCode =
  | 'UNKNOWN_PERSONA'
  | 'NO_BASE'
  | 'NOT_OLLAMA'
  | 'NO_SAMPLES'
  | 'BUSY'
  | 'NO_SUCH_JOB'
  | 'NOT_AWAITING'
  | 'NO_SUCH_VERSION'
  | 'ALREADY_ACTIVE';

export type FinetuneDecision =
  | { ok: true; job: FinetuneJob }
  | (Refusal<FinetuneRefusalCode> & { job?: FinetuneJob });

export interface FineTuner {
  /** Starts a fine-tune of `persona` (the job runs on; its progress is published). */
  start(persona: string, trigger: { trigger: FinetuneJob['trigger']; requestedBy: string }): FinetuneDecision;
  /** Waits for the running job, if any. */
  settled(): Promise<void>;
  /** The scheduled job: the next persona whose golden set grew by `triggerSize`, to the end. */
  job(cron: string): JobSpec;
  promote(jobId: string, userId: string): FinetuneDecision;
  discard(jobId: string, userId: string): FinetuneDecision;
  /** Flips back to `version` (default: the one before; 0: the codex's own model). */
  rollback(
    persona: string,
    userId: string,
    version?: number,
  ): Refusal<FinetuneRefusalCode> | { ok: true; active: ActiveModel };
  /** The model in force for a persona when it is a fine-tuned one. */
  activeModel(persona: string): string | undefined;
  active(persona: string): ActiveModel | undefined;
  versions(persona: string): ModelVersion[];
  /** The running job, else the latest. */
  current(): FinetuneJob | undefined;
  jobs(limit?: number): FinetuneJob[];
  get(id: string): FinetuneJob | undefined;
  close(): Promise<void>;
}

const modelName = (persona: string, version: number) => `batos-${persona.toLowerCase()}-v${version}`;

/** Whether process `pid` runs with arguments inside `folder` (Linux's /proc; elsewhere: unknown, so no). */
function isTrainerOf(pid: number, folder: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(folder);
  } catch {
    return false;
  }
}

export function createFineTuner(deps: FineTunerDeps): FineTuner {
  const { store, settings } = deps;
  const log = deps.logger.child({ module: 'finetune' });
  const now = () => deps.clock.now();
  const closing = new AbortController();
  let running: Promise<void> | undefined;

  // A job the bot was running when it stopped cannot be resumed: the trainer died with it.
  const stuck = store.running();
  if (stuck) {
    // Its trainer may outlive the bot and hold the GPU: stopped with its whole process group —
    // only when that process is still this job's trainer (a pid is reused after a reboot).
    if (stuck.trainerPid && isTrainerOf(stuck.trainerPid, resolve(deps.dataDir, 'finetune', stuck.id))) {
      try {
        process.kill(-stuck.trainerPid, 'SIGTERM');
        log.warn({ job: stuck.id, pid: stuck.trainerPid }, 'stopped the trainer a crash left running');
      } catch {
        // Gone already.
      }
    }
    store.update(
      stuck.id,
      () => ({
        state: 'failed',
        stage: 'done',
        error: 'the bot stopped in the middle of the job',
        finishedAt: now(),
      }),
      now(),
    );
    log.warn(
      { job: stuck.id },
      'a fine-tune interrupted by a restart ended as failed; the GPU lock is released',
    );
  }

  const publish = (job: FinetuneJob) => deps.bus.publish('finetune_job', { job });
  const update = (id: string, change: Partial<FinetuneJob>) => {
    const job = store.update(id, () => change, now());
    publish(job);
    return job;
  };
  // The manifests' counts when curation keeps them; else the files, line by line.
  const countGolden = deps.goldenCount ?? ((persona: string) => goldenCount(deps.dataDir, persona));
  const refuse = (code: FinetuneRefusalCode, reason: string, job?: FinetuneJob) => ({
    ok: false as const,
    code,
    reason,
    ...(job ? { job } : {}),
  });

  const lastGolden = (persona: string) =>
    store.list(50, persona).find((job) => job.goldenCount !== undefined && job.state !== 'failed')
      ?.goldenCount ?? 0;

  function activeOf(persona: string): { model: string; version: number } {
    const active = store.active(persona);
    return active && active.version > 0
      ? { model: active.model, version: active.version }
      : { model: deps.personas().get(persona).model, version: 0 };
  }

  async function run(jobId: string): Promise<void> {
    let job = store.get(jobId) as FinetuneJob;
    const persona = deps.personas().get(job.persona);
    const folder = resolve(deps.dataDir, 'finetune', job.id);
    mkdirSync(join(folder, 'adapter'), { recursive: true });
    const fail = (error: string, logTail?: string) => {
      job = update(job.id, {
        state: 'failed',
        stage: 'done',
        error,
        ...(logTail ? { logTail } : {}),
        finishedAt: now(),
      });
      log.warn({ job: job.id, persona: job.persona, error }, 'fine-tune failed; nothing was swapped');
    };
    try {
      // 1. The dataset, frozen.
      const snapshot = snapshotDataset({
        dataDir: deps.dataDir,
        persona: job.persona,
        folder,
        holdoutShare: settings.holdout,
      });
      job = update(job.id, {
        stage: 'training',
        datasetHash: snapshot.hash,
        samples: snapshot.train,
        holdout: snapshot.holdout.length,
        anchor: snapshot.anchor,
        goldenCount: snapshot.golden,
      });
      if (snapshot.train === 0) return fail('the dataset is empty');

      // 2–3. The GPU lent to the trainer: dialogues wait, the persona models are unloaded.
      let release = () => {};
      if (settings.exclusive) {
        release = deps.limiter.hold(`fine-tuning ${persona.displayName} (it can take a while)`);
        await deps.limiter.drained();
        const loaded = deps
          .personas()
          .list()
          .map((p) => activeOf(p.id).model);
        await deps.host
          .unload(loaded)
          .catch((error: unknown) => log.warn({ err: error }, 'could not unload the models'));
      }
      let outcome: Awaited<ReturnType<typeof runTrainer>>;
      try {
        outcome = await runTrainer({
          command: settings.command,
          dataset: snapshot.trainPath,
          base: job.base,
          output: join(folder, 'adapter'),
          ...(settings.config ? { config: settings.config } : {}),
          logPath: join(folder, 'trainer.log'),
          timeoutMs: settings.timeoutMs,
          clock: deps.clock,
          signal: closing.signal,
          ...(deps.cwd ? { cwd: deps.cwd } : {}),
          onSpawn: (pid) => {
            job = store.update(job.id, () => ({ trainerPid: pid }), now());
          },
          onEvent: (event) => {
            if (event.event === 'start') job = update(job.id, { totalSteps: event.total_steps });
            else if (event.event === 'progress') {
              const losses: Array<[number, number]> =
                typeof event.loss === 'number' ? [...job.losses, [event.step, event.loss]] : job.losses;
              job = update(job.id, { step: event.step, totalSteps: event.total_steps, losses });
            }
          },
        });
      } finally {
        release();
      }
      if (outcome.malformed)
        log.warn({ job: job.id, lines: outcome.malformed }, 'the trainer printed lines that are not events');
      if (!outcome.ok) return fail(outcome.reason, outcome.tail);

      // 4. Registered with Ollama under an immutable name.
      job = update(job.id, {
        stage: 'registering',
        step: outcome.steps,
        ...(outcome.finalLoss !== null ? { finalLoss: outcome.finalLoss } : {}),
      });
      const version = store.nextVersion(job.persona);
      const candidate = modelName(job.persona, version);
      try {
        await deps.host.createFromAdapter(candidate, job.fromModel, outcome.adapterDir);
      } catch (error) {
        return fail(`Ollama could not register the adapter: ${(error as Error).message}`);
      }
      store.addVersion({
        persona: job.persona,
        version,
        model: candidate,
        base: job.base,
        fromModel: job.fromModel,
        jobId: job.id,
        datasetHash: snapshot.hash,
        samples: snapshot.train,
        createdAt: now(),
      });
      job = update(job.id, { stage: 'evaluating', candidate, version });

      // 5. Judged against the model in force on the held-out prompts.
      const incumbent = activeOf(job.persona).model;
      const evaluation = await evaluate(
        promptsOf(snapshot.holdout, settings.evalPrompts),
        { candidate, incumbent },
        {
          answer: (model, messages: ChatMessage[]) =>
            deps
              .modelFor(job.persona, { model })
              .invoke(messages, { priority: BACKGROUND_PRIORITY, signal: closing.signal }),
          judge: (prompt) => {
            const { judge, model } = settings.judge();
            return deps
              .modelFor(judge, { temperature: 0, model: model ?? deps.personas().get(judge).model })
              .invoke([{ role: 'user', content: prompt }], {
                format: PAIRWISE_SCHEMA as unknown as Record<string, unknown>,
                priority: BACKGROUND_PRIORITY,
                signal: closing.signal,
              });
          },
          formatOk: (text) => deps.formatOk(job.persona, text),
          persona: { id: persona.id, role: persona.role, principles: persona.principles },
          rule: settings.rule,
          onUnreadable: (text) =>
            log.warn({ job: job.id, verdict: text.slice(0, 200) }, 'an unreadable verdict counts as a tie'),
        },
      );
      // The lineage keeps the evaluation beside the version, promoted or not.
      store.setVersionEvaluation(job.persona, version, evaluation);

      // 6. The swap, or not.
      if (!evaluation.better) {
        job = update(job.id, { state: 'kept', stage: 'done', evaluation, finishedAt: now() });
        log.info(
          { job: job.id, verdict: evaluation.verdict },
          'candidate not better; the model in force stays',
        );
        return;
      }
      if (settings.promotion === 'architect') {
        job = update(job.id, { state: 'awaiting_architect', stage: 'done', evaluation, finishedAt: now() });
        return;
      }
      swap(job, 'system', evaluation);
    } catch (error) {
      if (closing.signal.aborted) return fail('the bot is shutting down; the job was stopped');
      log.error({ err: error, job: job.id }, 'fine-tune failed');
      fail((error as Error).message ?? String(error));
    }
  }

  /** The atomic swap: one write flips the persona's model; the job is marked promoted with it. */
  function swap(job: FinetuneJob, by: string, evaluation = job.evaluation): FinetuneJob {
    const at = now();
    store.activate(
      { persona: job.persona, version: job.version ?? 0, model: job.candidate ?? '', since: at, by },
      {
        id: job.id,
        change: {
          state: 'promoted',
          stage: 'done',
          decidedBy: by,
          finishedAt: job.finishedAt ?? at,
          ...(evaluation ? { evaluation } : {}),
        },
        at,
      },
    );
    const promoted = store.get(job.id) as FinetuneJob;
    publish(promoted);
    log.info(
      { job: job.id, persona: job.persona, model: job.candidate },
      'swapped in: later model calls use the new version',
    );
    return promoted;
  }

  function start(
    personaId: string,
    trigger: { trigger: FinetuneJob['trigger']; requestedBy: string },
  ): FinetuneDecision {
    const registry = deps.personas();
    if (!registry.has(personaId)) {
      return refuse(
        'UNKNOWN_PERSONA',
        `There is no persona ${personaId} (the codex has ${registry
          .list()
          .map((p) => p.id)
          .join(', ')}).`,
      );
    }
    const persona = registry.get(personaId);
    if (!persona.finetuneBase) {
      return refuse(
        'NO_BASE',
        `${persona.id} has no finetune_base in the codex: add finetune_base = "<the Hugging Face weights of ${persona.model}>" under [personas.${persona.id}] (for llama3.1:8b, "unsloth/Meta-Llama-3.1-8B-Instruct").`,
      );
    }
    const provider = deps.providerOf?.(persona.id) ?? 'ollama';
    if (provider !== 'ollama') {
      return refuse(
        'NOT_OLLAMA',
        `${persona.id} is served by an OpenAI-compatible server: a fine-tune registers its adapter in Ollama, which only Ollama can do. Set provider = "ollama" under [personas.${persona.id}] to fine-tune it.`,
      );
    }
    if (countGolden(persona.id) === 0) {
      return refuse(
        'NO_SAMPLES',
        `${persona.id} has no golden samples yet: curation keeps them as dialogues are judged.`,
      );
    }
    const begun = store.begin({
      persona: persona.id,
      trigger: trigger.trigger,
      requestedBy: trigger.requestedBy,
      state: 'running',
      stage: 'snapshot',
      base: persona.finetuneBase,
      fromModel: persona.model,
      startedAt: now(),
      updatedAt: now(),
      losses: [],
    });
    if (!begun.ok) {
      return refuse(
        'BUSY',
        `A fine-tune is already running (${begun.running.id}, ${begun.running.persona}): one at a time.`,
        begun.running,
      );
    }
    publish(begun.job);
    log.info({ job: begun.job.id, persona: persona.id, trigger: trigger.trigger }, 'fine-tune started');
    running = run(begun.job.id).finally(() => {
      running = undefined;
    });
    return { ok: true, job: begun.job };
  }

  function decided(jobId: string): FinetuneDecision {
    const job = store.get(jobId);
    if (!job) return refuse('NO_SUCH_JOB', `There is no fine-tune job ${jobId}.`);
    if (job.state !== 'awaiting_architect')
      return refuse(
        'NOT_AWAITING',
        `Job ${jobId} is ${job.state.replace('_', ' ')}, not awaiting a decision.`,
        job,
      );
    return { ok: true, job };
  }

  return {
    start,
    async settled() {
      await running;
    },
    job(cron) {
      return {
        name: 'finetune',
        cron,
        setting: 'FINETUNE_CRON',
        autonomous: true,
        async run() {
          if (store.running()) return 'a fine-tune is already running';
          const due = deps
            .personas()
            .list()
            .filter((p) => p.finetuneBase && (deps.providerOf?.(p.id) ?? 'ollama') === 'ollama')
            .map((p) => ({ id: p.id, grown: countGolden(p.id) - lastGolden(p.id) }))
            .filter((p) => p.grown >= settings.triggerSize)
            .sort((a, b) => b.grown - a.grown)[0];
          if (!due) return `no persona has ${settings.triggerSize} new golden samples yet`;
          const started = start(due.id, { trigger: 'schedule', requestedBy: 'system' });
          if (!started.ok) return started.reason;
          await running;
          const job = store.get(started.job.id);
          return `fine-tuned ${due.id} (${started.job.id}): ${job?.state}${job?.error ? ` — ${job.error}` : ''}`;
        },
      };
    },
    promote(jobId, userId) {
      const verdict = decided(jobId);
      if (!verdict.ok) return verdict;
      return { ok: true, job: swap(verdict.job, userId) };
    },
    discard(jobId, userId) {
      const verdict = decided(jobId);
      if (!verdict.ok) return verdict;
      return { ok: true, job: update(jobId, { state: 'discarded', decidedBy: userId }) };
    },
    rollback(personaId, userId, version) {
      const registry = deps.personas();
      if (!registry.has(personaId)) return refuse('UNKNOWN_PERSONA', `There is no persona ${personaId}.`);
      const current = activeOf(personaId);
      const versions = store.versions(personaId);
      const promoted = new Set(
        store
          .list(200, personaId)
          .filter((j) => j.state === 'promoted')
          .map((j) => j.version),
      );
      const target =
        version ??
        [...versions].reverse().find((v) => v.version < current.version && promoted.has(v.version))
          ?.version ??
        0;
      if (target === current.version)
        return refuse('ALREADY_ACTIVE', `${personaId} already runs version ${target}.`);
      const record = versions.find((v) => v.version === target);
      if (target !== 0 && !record) {
        return refuse(
          'NO_SUCH_VERSION',
          `${personaId} has no version ${target} (versions: 0${versions.map((v) => `, ${v.version}`).join('')}).`,
        );
      }
      const active: ActiveModel = {
        persona: personaId,
        version: target,
        model: record?.model ?? registry.get(personaId).model,
        since: now(),
        by: userId,
      };
      store.activate(active);
      log.info({ persona: personaId, version: target, by: userId }, 'rolled back');
      return { ok: true, active };
    },
    activeModel(persona) {
      const active = store.active(persona);
      return active && active.version > 0 ? active.model : undefined;
    },
    active: (persona) => store.active(persona),
    versions: (persona) => store.versions(persona),
    current: () => store.running() ?? store.list(1)[0],
    jobs: (limit) => store.list(limit),
    get: (id) => store.get(id),
    async close() {
      closing.abort(new Error('shutting down'));
      await running;
    },
  };
}
