import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { publicMessageOf } from '../../shared/hostDetails.ts';
import { judgeModelOf } from '../codex/codexSchema.ts';
import { writeFileDurablyAsync } from '../durableWrite.ts';
import type { ChatMessage } from '../llm/chatModel.ts';
import { BACKGROUND_PRIORITY } from '../llm/limiter.ts';
import type { Persona } from '../personas.ts';
import { askServer, type JobServer, registerOnServers } from './candidateServers.ts';
import { type DatasetSnapshot, goldenFiles, readGoldenSets, snapshotDataset } from './datasetSnapshot.ts';
import { evaluate, PAIRWISE_SCHEMA } from './evaluation.ts';
import { drawExam, type Exam, examPrompts, examText, tooSmall } from './exam.ts';
import type { FinetuneRuntime } from './fineTunerDeps.ts';
import type { EvaluationReport, FinetuneJob } from './finetuneStore.ts';
import { JobProgress } from './jobProgress.ts';
import { activeOf, modelName, swap } from './modelSwap.ts';
import { ProgressThrottle } from './progressThrottle.ts';
import type { ModelRegistrar, RegistrationRecord, TrainerExport } from './registrar.ts';
import { retireVersionOf, serversOf } from './serving.ts';
import { sampleInScope } from './snapshotPolicy.ts';
import { runTrainer, type TrainerOutcome } from './trainerRun.ts';

/**
 * One fine-tune, step by step: the persona's exam drawn and the dataset frozen without it (the job
 * refused there if the exam is too small to ever promote), the servers asked what they take, the
 * GPU freed, the trainer run, the candidate registered with each of the persona's servers (Ollama
 * or vLLM; `candidateServers.ts`), judged against the model in force on the exam, and the swap,
 * the wait for the architect, or neither. Each step is a function of the few dependencies it uses; a step that fails ends the
 * job as failed, with nothing swapped.
 */

/**
 * Runs the job `jobId` (begun in the store) to its end: a step that fails, or throws, ends it as
 * failed. The evaluation judges the candidate against the persona (role, principles) as it was
 * when the job began.
 */
export async function runJob(deps: FinetuneRuntime, jobId: string): Promise<void> {
  const progress = new JobProgress(deps, (await deps.store.get(jobId)) as FinetuneJob);
  const persona = deps.personas().get(progress.job.persona);
  const folder = resolve(deps.dataDir, 'finetune', jobId);
  mkdirSync(join(folder, 'adapter'), { recursive: true });
  try {
    const { snapshot, exam } = await freezeDataset(deps, progress, folder);
    if (snapshot.train === 0) return await progress.fail(`the dataset is empty${leftOutNote(snapshot)}`);
    if (await refuseSmallExam(deps, progress, exam)) return;
    const server = await askServer(deps, progress);
    if (!server) return;
    const release = await freeGpu(deps, persona.displayName);
    const outcome = await train(deps, progress, snapshot, folder, server.export).finally(release);
    if (!outcome.ok) return await progress.fail(outcome.reason, outcome.tail);
    if (!(await register(deps, progress, outcome, snapshot, server))) return;
    await decide(deps, progress, await judge(deps, progress, persona, exam));
    // A candidate that stays out holds no server memory (a runtime adapter is unloaded).
    if (progress.job.state === 'kept' && progress.job.version)
      await retireVersionOf(deps, progress.job.persona, progress.job.version);
  } catch (error) {
    if (deps.signal.aborted) return await progress.fail('the bot is shutting down; the job was stopped');
    deps.log.error({ err: error, job: jobId }, 'fine-tune failed');
    await progress.fail((error as Error).message ?? String(error), undefined, publicMessageOf(error));
  }
}

/** What the dataset left out of the golden sets, said after why a job stopped; empty when nothing. */
function leftOutNote({ leftOut }: DatasetSnapshot): string {
  if (leftOut.scope + leftOut.share === 0) return '';
  return ` (left out: ${leftOut.scope} outside CURATION_SCOPE, ${leftOut.share} over FINETUNE_MEMBER_SHARE)`;
}

/**
 * 1. The persona's exam drawn (`exam.ts`: fixed prompts, grown only by appending), and the
 * dataset frozen into the job's folder without them (only what the scope and the member share
 * admit); the folder keeps a copy of the exam judged by.
 */
export async function freezeDataset(
  deps: Pick<FinetuneRuntime, 'dataDir' | 'golden' | 'settings' | 'clock' | 'log'>,
  progress: JobProgress,
  folder: string,
): Promise<{ snapshot: DatasetSnapshot; exam: Exam }> {
  const { settings } = deps;
  const scope = settings.scope ?? 'public';
  // Read once, for the exam and the dataset: both see the sets as they were at this moment.
  const sets = await readGoldenSets(deps.golden ?? goldenFiles(deps.dataDir), progress.job.persona);
  const exam = await drawExam({
    sets,
    dataDir: deps.dataDir,
    persona: progress.job.persona,
    holdoutShare: settings.holdout,
    size: settings.evalPrompts,
    rule: settings.rule,
    by: progress.job.id,
    at: deps.clock.now(),
    admits: (sample) => sampleInScope(sample, scope),
  });
  if (exam.summary.appended || exam.summary.withdrawn)
    deps.log.info(
      { job: progress.job.id, persona: progress.job.persona, ...exam.summary },
      'the exam grew, or lost prompts whose samples left the golden set',
    );
  const snapshot = await snapshotDataset({
    sets,
    dataDir: deps.dataDir,
    persona: progress.job.persona,
    folder,
    holdoutShare: settings.holdout,
    exclude: exam.excludes,
    policy: { scope, memberShare: settings.memberShare ?? 0.25 },
  });
  await writeFileDurablyAsync(join(folder, 'exam.jsonl'), examText([...exam.heldOut, ...exam.general]));
  const note = leftOutNote(snapshot);
  if (note) deps.log.info({ job: progress.job.id, ...snapshot.leftOut }, `dataset frozen${note}`);
  await progress.update({
    stage: 'training',
    datasetHash: snapshot.hash,
    samples: snapshot.train,
    holdout: snapshot.holdout.length,
    anchor: snapshot.anchor,
    goldenCount: snapshot.golden,
    exam: exam.summary,
  });
  return { snapshot, exam };
}

/**
 * 1¼. An exam on which no candidate could ever be promoted ends the job before any training,
 * saying why and what to do, rather than a "not better" after hours of GPU time. Returns
 * whether it did.
 */
export async function refuseSmallExam(
  deps: Pick<FinetuneRuntime, 'settings' | 'clock' | 'log'>,
  progress: JobProgress,
  exam: Exam,
): Promise<boolean> {
  const note = tooSmall(progress.job.persona, exam.summary, deps.settings);
  if (!note) return false;
  await progress.update({ state: 'refused', stage: 'done', note, finishedAt: deps.clock.now() });
  deps.log.warn({ job: progress.job.id, persona: progress.job.persona, exam: exam.summary }, note);
  return true;
}

/**
 * 2. The GPU lent to the trainer when the settings say so: dialogues wait, and the personas'
 * models are unloaded (`keep_alive: 0`). Returns what gives the GPU back.
 */
export async function freeGpu(
  deps: Pick<
    FinetuneRuntime,
    'settings' | 'limiter' | 'registrars' | 'registrarAt' | 'providerOf' | 'personas' | 'store' | 'log'
  >,
  displayName: string,
): Promise<() => void> {
  if (!deps.settings.exclusive) return () => {};
  const release = deps.limiter.hold(`fine-tuning ${displayName} (it can take a while)`);
  await deps.limiter.drained();
  // Each server of each persona frees what it can: Ollama unloads; vLLM keeps its share (docs/finetuning.md).
  const loaded = new Map<ModelRegistrar, string[]>();
  for (const persona of deps.personas().list()) {
    const { servers } = serversOf(deps, persona.id);
    if (!servers.length) continue;
    const { model } = await activeOf(deps, persona.id);
    for (const { registrar } of servers) loaded.set(registrar, [...(loaded.get(registrar) ?? []), model]);
  }
  for (const [registrar, models] of loaded)
    await registrar
      .unload(models)
      .catch((error: unknown) => deps.log.warn({ err: error }, 'could not unload the models'));
  return release;
}

/**
 * 3. The trainer run on the frozen dataset; its progress (steps, losses) follows the job, stored
 * at most once a second (the last always), whatever the trainer's pace.
 */
export async function train(
  deps: Pick<FinetuneRuntime, 'settings' | 'clock' | 'signal' | 'cwd' | 'log' | 'environment'>,
  progress: JobProgress,
  snapshot: DatasetSnapshot,
  folder: string,
  exported: TrainerExport = 'both',
): Promise<TrainerOutcome> {
  const { settings } = deps;
  const job = { job: progress.job.id, persona: progress.job.persona };
  const unstored = (error: unknown) =>
    deps.log.warn({ ...job, err: error }, 'could not store the training progress');
  const throttle = new ProgressThrottle<Partial<FinetuneJob>>({
    clock: deps.clock,
    // The losses so far, copied when stored: the list goes on growing.
    store: (change) => progress.update(change.losses ? { ...change, losses: [...change.losses] } : change),
    onError: unstored,
  });
  const losses = [...progress.job.losses];
  const outcome = await runTrainer({
    command: settings.command,
    dataset: snapshot.trainPath,
    base: progress.job.base,
    output: join(folder, 'adapter'),
    export: exported,
    ...(settings.config ? { config: settings.config } : {}),
    environment: deps.environment(),
    ...(settings.env ? { passEnv: settings.env } : {}),
    logPath: join(folder, 'trainer.log'),
    timeoutMs: settings.timeoutMs,
    clock: deps.clock,
    signal: deps.signal,
    ...(deps.cwd ? { cwd: deps.cwd } : {}),
    onSpawn: (pid) => {
      progress.record({ trainerPid: pid }).catch(unstored);
    },
    onEvent: (event) => {
      // The start is stored at once, outside the throttle: the first progress then is too.
      if (event.event === 'start') progress.update({ totalSteps: event.total_steps }).catch(unstored);
      else if (event.event === 'progress') {
        if (typeof event.loss === 'number') losses.push([event.step, event.loss]);
        throttle.push({ step: event.step, totalSteps: event.total_steps, losses });
      }
    },
    onOverlong: (stream, bytes) =>
      deps.log.warn(
        { ...job, stream, bytes },
        'the trainer printed a line longer than 64 KB; it was cut (see trainer.log)',
      ),
  }).finally(async () => {
    await throttle.flush();
    // What the trainer's events changed is stored before the next step reads or writes the job.
    await progress.settled();
  });
  if (outcome.malformed)
    deps.log.warn(
      { job: job.job, lines: outcome.malformed },
      'the trainer printed lines that are not events',
    );
  return outcome;
}

/**
 * 4. The candidate put on each of the persona's servers under an immutable name (the path each
 * server takes: adapter, merged model or runtime adapter), and the version recorded in the
 * lineage with the servers it is on. Returns false when a server refused (the job has failed).
 */
export async function register(
  deps: Pick<FinetuneRuntime, 'store' | 'bus' | 'clock' | 'log'>,
  progress: JobProgress,
  outcome: Extract<TrainerOutcome, { ok: true }>,
  snapshot: DatasetSnapshot,
  server: Pick<JobServer, 'provider' | 'servers'>,
): Promise<boolean> {
  const job = await progress.update({
    stage: 'registering',
    step: outcome.steps,
    ...(outcome.finalLoss !== null ? { finalLoss: outcome.finalLoss } : {}),
  });
  const version = await deps.store.nextVersion(job.persona);
  const registered = await registerOnServers(deps, server, {
    name: modelName(job.persona, version),
    from: job.fromModel,
    base: job.base,
    adapterDir: outcome.adapterDir,
    mergedDir: outcome.mergedDir,
  });
  if (!registered.ok) {
    await progress.fail(registered.error, undefined, registered.publicError);
    return false;
  }
  const { model, ...done } = registered.registration;
  const registration: RegistrationRecord = { ...done, provider: server.provider };
  deps.log.info(
    { job: job.id, model, path: done.path, bytes: done.bytes, uploaded: done.uploaded, reused: done.reused },
    `registered the candidate: ${done.summary}`,
  );
  await deps.store.addVersion({
    persona: job.persona,
    version,
    model,
    provider: server.provider,
    path: done.path,
    ...(registered.hosts ? { hosts: registered.hosts } : {}),
    adapterDir: outcome.adapterDir,
    base: job.base,
    fromModel: job.fromModel,
    jobId: job.id,
    datasetHash: snapshot.hash,
    samples: snapshot.train,
    createdAt: deps.clock.now(),
  });
  await progress.update({ stage: 'evaluating', candidate: model, version, registration });
  return true;
}

/**
 * 5. The candidate judged against the model in force on the persona's exam; the lineage keeps
 * the evaluation (and the exam's hash) beside the version, promoted or not.
 */
export async function judge(
  deps: Pick<
    FinetuneRuntime,
    'store' | 'personas' | 'modelFor' | 'settings' | 'formatOk' | 'signal' | 'log' | 'systemPrompt'
  >,
  progress: JobProgress,
  persona: Persona,
  exam: Exam,
): Promise<EvaluationReport> {
  const { job } = progress;
  const { settings, signal } = deps;
  const candidate = job.candidate as string;
  const systemPrompt = deps.systemPrompt?.(persona.id) ?? persona.systemPrompt;
  const evaluation = await evaluate(
    { ...examPrompts(exam, systemPrompt), hash: exam.summary.hash },
    { candidate, incumbent: (await activeOf(deps, job.persona)).model },
    {
      answer: (model, messages: ChatMessage[]) =>
        deps.modelFor(job.persona, { model }).invoke(messages, { priority: BACKGROUND_PRIORITY, signal }),
      judge: (prompt) => {
        const { persona: judge, ...model } = judgeModelOf(
          settings.judge(),
          (id) => deps.personas().get(id).model,
        );
        return deps
          .modelFor(judge, { temperature: 0, ...model })
          .invoke([{ role: 'user', content: prompt }], {
            format: PAIRWISE_SCHEMA as unknown as Record<string, unknown>,
            priority: BACKGROUND_PRIORITY,
            signal,
          });
      },
      formatOk: (text) => deps.formatOk(job.persona, text),
      persona: { id: persona.id, role: persona.role, principles: persona.principles },
      rule: settings.rule,
      onUnreadable: (text) =>
        deps.log.warn({ job: job.id, verdict: text.slice(0, 200) }, 'an unreadable verdict counts as a tie'),
    },
  );
  await deps.store.setVersionEvaluation(job.persona, job.version as number, evaluation);
  return evaluation;
}

/** 6. The swap, or not: a better candidate is swapped in, or waits for the architect. */
export async function decide(
  deps: Pick<FinetuneRuntime, 'store' | 'bus' | 'clock' | 'log' | 'settings'>,
  progress: JobProgress,
  evaluation: EvaluationReport,
): Promise<void> {
  if (!evaluation.better) {
    await progress.update({ state: 'kept', stage: 'done', evaluation, finishedAt: deps.clock.now() });
    deps.log.info(
      { job: progress.job.id, verdict: evaluation.verdict },
      'candidate not better; the model in force stays',
    );
    return;
  }
  // A forget during the job took lines it trained on: an architect decides, whatever the setting.
  if (deps.settings.promotion === 'architect' || (await deps.store.get(progress.job.id))?.tainted) {
    await progress.update({
      state: 'awaiting_architect',
      stage: 'done',
      evaluation,
      finishedAt: deps.clock.now(),
    });
    return;
  }
  await swap(deps, progress.job, 'system', evaluation);
}
