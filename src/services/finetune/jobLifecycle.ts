import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { JobSpec } from '../scheduler.ts';
import { type FinetuneDecision, type FinetuneRuntime, refuse, updateJob } from './fineTunerDeps.ts';
import type { FinetuneJob } from './finetuneStore.ts';
import { swap } from './modelSwap.ts';
import { runJob } from './runJob.ts';
import { serversOf } from './serving.ts';

/**
 * A fine-tune's life around its steps: started (one at a time, refused with a reason otherwise),
 * followed until it settles, stopped at shutdown, decided by the architect, started by the
 * schedule, and ended as failed when a restart cut it short.
 */

/** How long a shutdown waits for the servers' follow-ups (loading, unloading adapters). */
const CHORES_PATIENCE_MS = 5_000;

/**
 * The job this process runs, if any, the servers' follow-ups of a swap or rollback (loading and
 * unloading runtime adapters), and the signal that stops a job when the bot shuts down.
 */
export class JobSlot {
  private running: Promise<void> | undefined;
  /** Starts still deciding (the store asked whether a job runs): `settled` waits for them too. */
  private readonly starting = new Set<Promise<unknown>>();
  private readonly chores = new Set<Promise<void>>();
  private readonly closing = new AbortController();

  get signal(): AbortSignal {
    return this.closing.signal;
  }

  /** Follows a start until it has decided (and, if it began a job, has put it in the slot). */
  start<T>(decision: Promise<T>): Promise<T> {
    // Its failure is its caller's: followed here only until it ends.
    const ended = () => {
      this.starting.delete(followed);
    };
    const followed = decision.then(ended, ended);
    this.starting.add(followed);
    return decision;
  }

  /** Follows `work` until it ends. */
  hold(work: Promise<void>): void {
    this.running = work.finally(() => {
      this.running = undefined;
    });
  }

  /** Follows a server's follow-up until it ends (it logs its own failures). */
  chore(work: Promise<void>): void {
    const followed = work.finally(() => this.chores.delete(followed));
    this.chores.add(followed);
  }

  /** Waits for the starts deciding, the running job and the follow-ups, if any. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.starting]);
    await this.running;
    await Promise.all([...this.chores]);
  }

  /**
   * Stops the running job and waits for it to end, and for the follow-ups a little: one waiting
   * on a server that does not answer must not hold the shutdown for its whole deadline.
   */
  async close(): Promise<void> {
    this.closing.abort(new Error('shutting down'));
    // A start deciding now may still begin a job: it stops at once, and is waited for too.
    await Promise.allSettled([...this.starting]);
    await this.running;
    let timer: NodeJS.Timeout | undefined;
    const patience = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, CHORES_PATIENCE_MS);
    });
    await Promise.race([Promise.all([...this.chores]), patience]);
    clearTimeout(timer);
  }
}

/** Whether process `pid` runs with arguments inside `folder` (Linux's /proc; elsewhere: unknown, so no). */
function isTrainerOf(pid: number, folder: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(folder);
  } catch {
    return false;
  }
}

type RepairDeps = Pick<FinetuneRuntime, 'store' | 'owners' | 'dataDir' | 'clock' | 'log'>;

/**
 * Ends as failed the running job whose process died (this bot before its restart, or another
 * process: `processOwner.ts`): it cannot be resumed, its trainer died with it (or is stopped here),
 * and the GPU lock it holds is released. A job a live process runs is left alone. Returns
 * whether it no longer runs, failed (here, or by another process first: only the one that ended
 * it logs so).
 */
export async function endInterruptedJob(
  deps: RepairDeps,
  stuck: FinetuneJob | undefined = undefined,
): Promise<boolean> {
  const { store, log } = deps;
  stuck ??= await store.running();
  if (!stuck || (await deps.owners.alive(stuck.owner))) return false;
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
  const { id } = stuck;
  // Unless another process ended it first: only a job still running is failed, and said so once.
  let endedHere = false;
  const ended = await store.update(
    id,
    (job) => {
      endedHere = job.state === 'running';
      return endedHere
        ? {
            state: 'failed',
            stage: 'done',
            error: 'the bot stopped in the middle of the job',
            finishedAt: deps.clock.now(),
          }
        : {};
    },
    deps.clock.now(),
  );
  if (endedHere)
    log.warn({ job: id }, 'a fine-tune interrupted by a restart ended as failed; the GPU lock is released');
  return ended.state === 'failed';
}

/** The job holding the GPU, if its process lives (one that died is ended as failed here). */
export async function runningJob(deps: RepairDeps): Promise<FinetuneJob | undefined> {
  const running = await deps.store.running();
  return running && !(await endInterruptedJob(deps, running)) ? running : undefined;
}

/** Why a persona cannot be fine-tuned, if it cannot. */
async function unfit(
  deps: Pick<FinetuneRuntime, 'personas' | 'providerOf' | 'registrars' | 'registrarAt' | 'countGolden'>,
  personaId: string,
): Promise<FinetuneDecision | undefined> {
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
  if (!serversOf(deps, persona.id).servers.length) {
    return refuse(
      'CANNOT_SERVE',
      `${persona.id} is served by an OpenAI-compatible server, but OPENAI_BASE_URL is not set: set it, or set provider = "ollama" under [personas.${persona.id}].`,
    );
  }
  if ((await deps.countGolden(persona.id)) === 0) {
    return refuse(
      'NO_SAMPLES',
      `${persona.id} has no golden samples yet: curation keeps them as dialogues are judged.`,
    );
  }
  return undefined;
}

/** Starts a fine-tune of a persona unless it is unfit or one is running; the job runs on in `slot`. */
export async function startJob(
  deps: FinetuneRuntime,
  slot: JobSlot,
  personaId: string,
  trigger: { trigger: FinetuneJob['trigger']; requestedBy: string },
): Promise<FinetuneDecision> {
  const refusal = await unfit(deps, personaId);
  if (refusal) return refusal;
  // Without its own lock held, this process could not show the others that its job is alive.
  if (!(await deps.owners.claim())) {
    return refuse(
      'NO_LOCK',
      'The database did not give this process the lock a fine-tune runs under: nothing was started. Try again in a moment.',
    );
  }
  const persona = deps.personas().get(personaId);
  const fields: Omit<FinetuneJob, 'id'> = {
    persona: persona.id,
    trigger: trigger.trigger,
    requestedBy: trigger.requestedBy,
    state: 'running',
    stage: 'snapshot',
    base: persona.finetuneBase as string,
    fromModel: persona.model,
    startedAt: deps.clock.now(),
    updatedAt: deps.clock.now(),
    losses: [],
    owner: deps.owners.self,
  };
  let begun = await deps.store.begin(fields);
  // A job whose process died holds the GPU for nobody: it ends as failed, and this one begins.
  if (!begun.ok && (await endInterruptedJob(deps, begun.running))) begun = await deps.store.begin(fields);
  if (!begun.ok) {
    return refuse(
      'BUSY',
      `A fine-tune is already running (${begun.running.id}, ${begun.running.persona}): one at a time.`,
      begun.running,
    );
  }
  deps.bus.publish('finetune_job', { job: begun.job });
  deps.log.info({ job: begun.job.id, persona: persona.id, trigger: trigger.trigger }, 'fine-tune started');
  const { id } = begun.job;
  slot.hold(
    runJob(deps, id).catch((error: unknown) =>
      deps.log.error({ err: error, job: id }, 'fine-tune failed, and the store could not record it'),
    ),
  );
  return { ok: true, job: begun.job };
}

/** The architect's Promote or Discard of a job that awaits it. */
export async function decideJob(
  deps: Pick<FinetuneRuntime, 'store' | 'bus' | 'clock' | 'log'>,
  jobId: string,
  userId: string,
  decision: 'promote' | 'discard',
): Promise<FinetuneDecision> {
  const job = await deps.store.get(jobId);
  if (!job) return refuse('NO_SUCH_JOB', `There is no fine-tune job ${jobId}.`);
  if (job.state !== 'awaiting_architect')
    return refuse(
      'NOT_AWAITING',
      `Job ${jobId} is ${job.state.replace('_', ' ')}, not awaiting a decision.`,
      job,
    );
  return decision === 'promote'
    ? { ok: true, job: await swap(deps, job, userId) }
    : { ok: true, job: await updateJob(deps, jobId, { state: 'discarded', decidedBy: userId }) };
}

/** Golden samples the persona had when its last job that did not fail began. */
const lastGolden = async (deps: Pick<FinetuneRuntime, 'store'>, persona: string) =>
  (await deps.store.list(50, persona)).find((job) => job.goldenCount !== undefined && job.state !== 'failed')
    ?.goldenCount ?? 0;

/** The persona whose golden set grew most since its last job, by `triggerSize` at least. */
async function duePersona(deps: FinetuneRuntime): Promise<string | undefined> {
  const grown: Array<{ id: string; grown: number }> = [];
  for (const p of deps.personas().list()) {
    if (!p.finetuneBase || !serversOf(deps, p.id).servers.length) continue;
    grown.push({ id: p.id, grown: (await deps.countGolden(p.id)) - (await lastGolden(deps, p.id)) });
  }
  return grown.filter((p) => p.grown >= deps.settings.triggerSize).sort((a, b) => b.grown - a.grown)[0]?.id;
}

/** The scheduled job: the persona whose golden set grew most, by `triggerSize` at least, fine-tuned to the end. */
export function scheduledJob(deps: FinetuneRuntime, slot: JobSlot, cron: string): JobSpec {
  return {
    name: 'finetune',
    cron,
    setting: 'FINETUNE_CRON',
    autonomous: true,
    async run() {
      if (await runningJob(deps)) return 'a fine-tune is already running';
      const due = await duePersona(deps);
      if (!due) return `no persona has ${deps.settings.triggerSize} new golden samples yet`;
      const started = await startJob(deps, slot, due, { trigger: 'schedule', requestedBy: 'system' });
      if (!started.ok) return started.reason;
      await slot.settled();
      const job = await deps.store.get(started.job.id);
      const why = job?.error ?? job?.note;
      return `fine-tuned ${due} (${started.job.id}): ${job?.state}${why ? ` — ${why}` : ''}`;
    },
  };
}
