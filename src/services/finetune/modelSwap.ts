import type { Refusal } from '../errors.ts';
import { type FinetuneRefusalCode, type FinetuneRuntime, refuse } from './fineTunerDeps.ts';
import type { ActiveModel, EvaluationReport, FinetuneJob } from './finetuneStore.ts';

/**
 * Which model a persona speaks through: the version in force, the atomic swap that flips it to a
 * new one, and the rollback that flips it back. Every version stays in the lineage.
 */

/** The immutable Ollama name of a persona's `version`. */
export const modelName = (persona: string, version: number) => `batos-${persona.toLowerCase()}-v${version}`;

/** The model in force for a persona and its version (0: the codex's own model), read from the store. */
export async function activeOf(
  deps: Pick<FinetuneRuntime, 'store' | 'personas'>,
  persona: string,
): Promise<{ model: string; version: number }> {
  const active = await deps.store.active(persona);
  return active && active.version > 0
    ? { model: active.model, version: active.version }
    : { model: deps.personas().get(persona).model, version: 0 };
}

/** The atomic swap: one write flips the persona's model; the job is marked promoted with it. */
export async function swap(
  deps: Pick<FinetuneRuntime, 'store' | 'bus' | 'clock' | 'log'>,
  job: FinetuneJob,
  by: string,
  evaluation: EvaluationReport | undefined = job.evaluation,
): Promise<FinetuneJob> {
  const at = deps.clock.now();
  await deps.store.activate(
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
  const promoted = (await deps.store.get(job.id)) as FinetuneJob;
  deps.bus.publish('finetune_job', { job: promoted });
  deps.log.info(
    { job: job.id, persona: job.persona, model: job.candidate },
    'swapped in: later model calls use the new version',
  );
  return promoted;
}

/**
 * The version a rollback returns to when none is named: the latest promoted one before the
 * version in force, else the codex's own model (0).
 */
async function previousVersion(
  deps: Pick<FinetuneRuntime, 'store'>,
  persona: string,
  current: number,
): Promise<number> {
  const promoted = new Set(
    (await deps.store.list(200, persona)).filter((j) => j.state === 'promoted').map((j) => j.version),
  );
  return (
    (await deps.store.versions(persona)).reverse().find((v) => v.version < current && promoted.has(v.version))
      ?.version ?? 0
  );
}

/** Flips a persona back to `version` (default: the one before; 0: the codex's own model). */
export async function rollback(
  deps: Pick<FinetuneRuntime, 'store' | 'personas' | 'clock' | 'log'>,
  personaId: string,
  userId: string,
  version?: number,
): Promise<Refusal<FinetuneRefusalCode> | { ok: true; active: ActiveModel }> {
  const registry = deps.personas();
  if (!registry.has(personaId)) return refuse('UNKNOWN_PERSONA', `There is no persona ${personaId}.`);
  const current = await activeOf(deps, personaId);
  const versions = await deps.store.versions(personaId);
  const target = version ?? (await previousVersion(deps, personaId, current.version));
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
    since: deps.clock.now(),
    by: userId,
  };
  await deps.store.activate(active);
  deps.log.info({ persona: personaId, version: target, by: userId }, 'rolled back');
  return { ok: true, active };
}
