import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { rewriteWithout } from '../curation/lineFile.ts';
import { type Forgotten, jsonNeedles } from '../forgetting/forgotten.ts';
import { type FinetuneRuntime, updateJob } from './fineTunerDeps.ts';
import type { FinetuneJob, JobState } from './finetuneStore.ts';

/**
 * `/memory forget` in the fine-tuning loop. A forgotten dialogue may have been frozen into a job's
 * dataset (`DATA_DIR/finetune/<job>/train.jsonl`, `holdout.jsonl`, the copy of the exam
 * `exam.jsonl`) and into a persona's exam (`DATA_DIR/finetune/exams/<PERSONA>.jsonl`). Its lines
 * leave those files (a sample names its dialogue, and the dialogues it recalled, by their ids; a
 * recalling plan's prompt quotes it). A job whose files lost lines is marked tainted, and says so
 * in its log message: the dataset is no longer what it trained on (its hash stays the trained
 * one's), and a model it made learned from the forgotten words, which only a rollback undoes.
 */

/** A job whose frozen files held a forgotten dialogue. */
export interface TaintedJob {
  id: string;
  persona: string;
  state: JobState;
  /** The version it registered, if it got that far. */
  version?: number;
  /** Lines this forget removed from its files. */
  lines: number;
}

/** A model in force that learned from a tainted dataset, and the version an architect may roll back to. */
export interface TaintedModel {
  persona: string;
  version: number;
  model: string;
  jobId: string;
  /** The newest earlier version promoted from an untainted dataset (0: the codex's own model). */
  rollbackTo: number;
}

export interface FinetuneForgetReport {
  tainted: TaintedJob[];
  /** Prompts withdrawn from the personas' frozen exams. */
  examPrompts: number;
  inForce: TaintedModel[];
}

/** The files of a job's folder that may hold a dialogue's words. */
const JOB_FILES = ['train.jsonl', 'holdout.jsonl', 'exam.jsonl', 'trainer.log'];

type Deps = Pick<FinetuneRuntime, 'dataDir' | 'store' | 'bus' | 'clock' | 'log'>;

/** Removes the forgotten dialogues from every frozen dataset and exam; marks the jobs that held them. */
export async function forgetInDatasets(deps: Deps, forgotten: Forgotten): Promise<FinetuneForgetReport> {
  const needles = jsonNeedles(forgotten, { texts: false });
  const drops = (line: Buffer) => needles.some((needle) => line.includes(needle));
  const root = join(deps.dataDir, 'finetune');
  const examPrompts = jsonlFiles(join(root, 'exams')).reduce((n, file) => n + rewriteWithout(file, drops), 0);
  const tainted: TaintedJob[] = [];
  for (const folder of subfolders(root)) {
    const lines = JOB_FILES.reduce((n, file) => n + rewriteWithout(join(root, folder, file), drops), 0);
    const job = lines > 0 ? await deps.store.get(folder) : undefined;
    if (!job) continue;
    const marked = await updateJob(deps, job.id, {
      tainted: { at: deps.clock.now(), lines: (job.tainted?.lines ?? 0) + lines },
    });
    tainted.push({
      id: marked.id,
      persona: marked.persona,
      state: marked.state,
      ...(marked.version !== undefined ? { version: marked.version } : {}),
      lines,
    });
  }
  if (examPrompts > 0 || tainted.length > 0) {
    await deps.store.scrub(['jobs']);
    deps.log.warn(
      { examPrompts, tainted: tainted.map((job) => job.id) },
      'forgotten dialogues removed from the frozen fine-tune datasets and exams; those jobs are tainted',
    );
  }
  return { tainted, examPrompts, inForce: await taintedInForce(deps, tainted) };
}

/** The models in force that came from a tainted job, with where a rollback would take each persona. */
async function taintedInForce(deps: Deps, tainted: readonly TaintedJob[]): Promise<TaintedModel[]> {
  const models: TaintedModel[] = [];
  for (const persona of new Set(tainted.map((job) => job.persona))) {
    const active = await deps.store.active(persona);
    if (!active || active.version === 0) continue;
    const version = (await deps.store.versions(persona)).find((v) => v.version === active.version);
    const job = version ? await deps.store.get(version.jobId) : undefined;
    if (!version || !job?.tainted) continue;
    models.push({
      persona,
      version: active.version,
      model: active.model,
      jobId: job.id,
      rollbackTo: await cleanVersionBefore(deps, persona, active.version),
    });
  }
  return models;
}

/** The newest version before `current` that was promoted from a dataset no forget has tainted; 0 when none. */
async function cleanVersionBefore(deps: Deps, persona: string, current: number): Promise<number> {
  const clean = (job: FinetuneJob | undefined) => job?.state === 'promoted' && !job.tainted;
  let found = 0;
  for (const v of await deps.store.versions(persona))
    if (v.version < current && clean(await deps.store.get(v.jobId))) found = v.version;
  return found;
}

function subfolders(dir: string): string[] {
  if (!existsSync(dir)) return [];
  // Real folders only: a link is not a job's folder.
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && entry.name !== 'exams')
    .map((entry) => entry.name);
}

function jsonlFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => name.endsWith('.jsonl'))
    .map((name) => join(dir, name));
}
