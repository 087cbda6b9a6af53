import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sha256 } from '../../shared/hash.ts';
import type { GoldenReader } from '../curation/goldenStore.ts';
import { writeFileDurablyAsync } from '../durableWrite.ts';
import type { ChatMessage } from '../llm/chatModel.ts';
import {
  type GoldenSample,
  type GoldenSets,
  goldenFiles,
  isHeldOut,
  readGoldenSets,
  sampleHash,
  turnEachSlice,
} from './datasetSnapshot.ts';
import type { ExamSummary } from './finetuneStore.ts';
import { GENERAL_EXAM, type GeneralPrompt } from './generalExam.ts';
import { fewestPromotablePrompts, type PromoteRule, smallestPromotableShare } from './promotionRule.ts';

/**
 * A persona's frozen exam (`DATA_DIR/finetune/exams/<PERSONA>.jsonl`): the prompts every
 * candidate of that persona is judged on, so two versions' results compare. Held-out prompts
 * are fixed the first time they are drawn and never trained on, in any later job, whatever
 * `FINETUNE_HOLDOUT` says then; the exam grows only by appending (held-out samples until it
 * holds `FINETUNE_EVAL_PROMPTS`, general prompts the project adds), and a prompt leaves it only
 * when its sample leaves the golden set (a forgotten dialogue or member, a sample an architect
 * removed): what was forgotten is not kept here either. The shipped general prompts
 * (`generalExam.ts`) are copied in too, so a later release that changes them changes no
 * persona's exam.
 */

export const EXAM_FORMAT = 'bat-os/exam-prompt@1';

/** One prompt of an exam, one line of its file. */
export interface ExamEntry {
  format: typeof EXAM_FORMAT;
  /** `held-out`: from the persona's golden set; `general`: from the project's general set. */
  source: 'held-out' | 'general';
  /** sha256 of the prompt's messages: a sample asking this prompt is never trained on. */
  prompt_hash: string;
  /** The held-out sample's content hash (its answer included): withdrawn when it leaves the golden set. */
  sample_hash?: string;
  /** The prompt: every message before the answer (a general prompt's system message is the persona's in force). */
  messages: ChatMessage[];
  /** Where a held-out prompt came from. */
  interaction_id?: string;
  conversation_id?: string;
  /** When, and by which job, it was drawn. */
  added_at: string;
  added_by: string;
}

/** An exam as one job judges by it. */
export interface Exam {
  /** The held-out prompts judged: the exam's first `FINETUNE_EVAL_PROMPTS`. */
  heldOut: ExamEntry[];
  general: ExamEntry[];
  summary: ExamSummary;
  /** Whether a sample must stay out of training: its content or its prompt is in the exam. */
  excludes(sample: GoldenSample): boolean;
}

export const examPath = (dataDir: string, persona: string) =>
  join(dataDir, 'finetune', 'exams', `${persona}.jsonl`);

/** The messages a sample's answer was given to: every message up to its last assistant turn. */
export function promptOf(sample: { messages: readonly ChatMessage[] }): ChatMessage[] {
  const last = sample.messages.map((m) => m.role).lastIndexOf('assistant');
  return sample.messages.slice(0, last).map((m) => ({ role: m.role, content: m.content }));
}

const promptHash = (messages: readonly ChatMessage[]) =>
  sha256(JSON.stringify(messages.map(({ role, content }) => ({ role, content }))));

/** The entries of an exam file; a torn last line (a crash mid-write of an older version) is skipped. */
export function readExam(path: string): ExamEntry[] {
  if (!existsSync(path)) return [];
  const entries: ExamEntry[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      const entry = JSON.parse(line) as ExamEntry;
      if (entry.format === EXAM_FORMAT && Array.isArray(entry.messages)) entries.push(entry);
    } catch {
      // Not an entry.
    }
  }
  return entries;
}

export const examText = (entries: readonly ExamEntry[]) =>
  entries.map((entry) => `${JSON.stringify(entry)}\n`).join('');

export interface DrawOptions {
  /** Where the golden sets are read: the golden store (default: the files under `dataDir`). */
  golden?: GoldenReader;
  /** The sets as already read (a job reads them once, for its exam and its dataset); else read here. */
  sets?: GoldenSets;
  dataDir: string;
  persona: string;
  /** `FINETUNE_HOLDOUT`: the share of the golden set held out by content hash, whence the exam draws. */
  holdoutShare: number;
  /** `FINETUNE_EVAL_PROMPTS`: the held-out prompts the exam grows to, and the most judged. */
  size: number;
  rule: PromoteRule;
  /** The job drawing, and when (ms). */
  by: string;
  at: number;
  /** The project's general prompts (default: the shipped set). */
  general?: readonly GeneralPrompt[];
  /** Which golden samples may become exam prompts (those the dataset's scope admits); default all. */
  admits?: (sample: GoldenSample) => boolean;
}

/** The content hashes of samples, a slice at a time (the event loop turns between slices). */
async function hashesOf(samples: readonly GoldenSample[], into = new Set<string>()): Promise<Set<string>> {
  let handled = 0;
  for (const sample of samples) {
    into.add(sampleHash(sample));
    await turnEachSlice(++handled);
  }
  return into;
}

/**
 * The persona's exam for a job: the stored one, less the prompts whose samples left the golden
 * set, grown by appending (held-out golden samples not in the anchor set, in the golden set's
 * order, until it holds `size`; general prompts it lacks), written back durably when it changed.
 * The golden set is read as a stream and hashed a slice at a time: the bot serves dialogues
 * meanwhile.
 */
export async function drawExam(options: DrawOptions): Promise<Exam> {
  const path = examPath(options.dataDir, options.persona);
  const sets =
    options.sets ?? (await readGoldenSets(options.golden ?? goldenFiles(options.dataDir), options.persona));
  const golden = sets.golden;
  const anchored = await hashesOf(sets.anchor);
  const present = await hashesOf(golden, new Set(anchored));
  const stored = readExam(path);
  const entries = stored.filter(
    (entry) =>
      entry.source === 'general' || (entry.sample_hash !== undefined && present.has(entry.sample_hash)),
  );
  const withdrawn = stored.length - entries.length;
  const asked = new Set(entries.map((entry) => entry.prompt_hash));
  const added = { added_at: new Date(options.at).toISOString(), added_by: options.by };
  let heldOut = entries.filter((entry) => entry.source === 'held-out').length;
  const appended: ExamEntry[] = [];
  let scanned = 0;
  for (const sample of golden) {
    if (heldOut >= options.size) break;
    await turnEachSlice(++scanned);
    const hash = sampleHash(sample);
    const messages = promptOf(sample);
    const prompt = promptHash(messages);
    if (anchored.has(hash) || !isHeldOut(sample, options.holdoutShare) || asked.has(prompt)) continue;
    // A prompt from outside the scope is never copied into the exam (and so into the job's folder).
    if (options.admits && !options.admits(sample)) continue;
    asked.add(prompt);
    heldOut++;
    appended.push({
      format: EXAM_FORMAT,
      source: 'held-out',
      prompt_hash: prompt,
      sample_hash: hash,
      messages,
      ...provenance(sample),
      ...added,
    });
  }
  for (const general of options.general ?? GENERAL_EXAM) {
    const messages = general.messages.map(({ role, content }) => ({ role, content }));
    const prompt = promptHash(messages);
    if (asked.has(prompt)) continue;
    asked.add(prompt);
    appended.push({ format: EXAM_FORMAT, source: 'general', prompt_hash: prompt, messages, ...added });
  }
  const all = [...entries, ...appended];
  if (appended.length > 0 || withdrawn > 0) await writeFileDurablyAsync(path, examText(all));
  return examOf(all, { ...options, appended: appended.length, withdrawn });
}

/** Where a held-out sample came from, as curation recorded it. */
function provenance(sample: GoldenSample): Pick<ExamEntry, 'interaction_id' | 'conversation_id'> {
  const meta = sample.meta ?? {};
  return {
    ...(typeof meta.interaction_id === 'string' ? { interaction_id: meta.interaction_id } : {}),
    ...(typeof meta.conversation_id === 'string' ? { conversation_id: meta.conversation_id } : {}),
  };
}

/** The exam judged by, from all its entries. */
function examOf(
  entries: readonly ExamEntry[],
  options: Pick<DrawOptions, 'size' | 'rule'> & { appended: number; withdrawn: number },
): Exam {
  const heldOut = entries.filter((entry) => entry.source === 'held-out').slice(0, options.size);
  const general = entries.filter((entry) => entry.source === 'general');
  // Every held-out entry stays out of training, judged now or not (a lowered FINETUNE_EVAL_PROMPTS).
  const samples = new Set(entries.flatMap((entry) => (entry.sample_hash ? [entry.sample_hash] : [])));
  const prompts = new Set(entries.map((entry) => entry.prompt_hash));
  const smallestShare = smallestPromotableShare(heldOut.length, options.rule);
  return {
    heldOut,
    general,
    summary: {
      prompts: heldOut.length,
      general: general.length,
      hash: sha256(JSON.stringify([...heldOut, ...general].map((entry) => [entry.source, entry.messages]))),
      appended: options.appended,
      withdrawn: options.withdrawn,
      ...(smallestShare !== undefined ? { smallestShare } : {}),
      rule: options.rule,
      fewest: fewestPromotablePrompts(options.rule),
    },
    excludes: (sample) => samples.has(sampleHash(sample)) || prompts.has(promptHash(promptOf(sample))),
  };
}

/** The exam's prompts as the models are asked them: a general one after the persona's system prompt. */
export function examPrompts(
  exam: Pick<Exam, 'heldOut' | 'general'>,
  systemPrompt: string,
): { heldOut: ChatMessage[][]; general: ChatMessage[][] } {
  return {
    heldOut: exam.heldOut.map((entry) => entry.messages),
    general: exam.general.map((entry) => [{ role: 'system', content: systemPrompt }, ...entry.messages]),
  };
}

/**
 * Why no candidate could be promoted on this exam, in words a user can act on; undefined when
 * one could.
 */
export function tooSmall(
  persona: string,
  summary: ExamSummary,
  settings: { rule: PromoteRule; holdout: number; evalPrompts: number },
): string | undefined {
  if (summary.smallestShare !== undefined) return undefined;
  const had = `${persona}'s exam holds ${summary.prompts} held-out prompt${summary.prompts === 1 ? '' : 's'}`;
  const needs = `with FINETUNE_PROMOTE_RULE=${settings.rule} a candidate can only be promoted on ${summary.fewest} or more, even if it wins every one`;
  const remedy =
    settings.evalPrompts < summary.fewest
      ? `FINETUNE_EVAL_PROMPTS=${settings.evalPrompts} keeps the exam below that: raise it to ${summary.fewest} or more`
      : `it grows as the golden set does (a FINETUNE_HOLDOUT=${settings.holdout} share of new golden samples is held out for it): wait for more golden samples, raise FINETUNE_HOLDOUT${settings.rule === 'lower-bound' ? ', or set FINETUNE_PROMOTE_RULE=majority' : ''}`;
  return `${had}: ${needs}. Nothing was trained. ${remedy[0]?.toUpperCase()}${remedy.slice(1)}.`;
}
