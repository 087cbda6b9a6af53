import { randomUUID } from 'node:crypto';
import { createKeyedLock } from '../../shared/concurrency.ts';
import { plural, truncate } from '../../shared/text.ts';
import type { Clock } from '../clock.ts';
import type { CurationSettings } from '../codex/codexSchema.ts';
import { findAppError } from '../errors.ts';
import type { ModelFor } from '../llm/chatModel.ts';
import { BACKGROUND_PRIORITY } from '../llm/limiter.ts';
import type { Logger } from '../logger.ts';
import type { RecordedTurn, StoredRecord } from '../memory/interactionLog.ts';
import type { Memory } from '../memory/memory.ts';
import type { PersonaRegistry } from '../personas.ts';
import type { CurationLedger, StoredVerdict } from './curationLedger.ts';
import type { GoldenManifest, GoldenStore } from './goldenStore.ts';
import { buildRubric, judgeMessages, verdictSchema } from './rubric.ts';
import { type GoldenSample, isRecordedWhole, samplesOf } from './sample.ts';
import { parseVerdict, REASON_CHARS, type Verdict } from './verdict.ts';

/**
 * The curation loop (the first half of the strategic loop): the judge scores every finished
 * dialogue once, persona by persona, and each persona's turns that score at least the threshold
 * become golden samples for its fine-tuning. It works through the interaction log from a cursor,
 * a bounded batch per run, its model calls behind people's (`BACKGROUND_PRIORITY`).
 */

/** A dialogue whose judging fails this many runs in a row is counted as not golden, so it cannot block the rest. */
export const MAX_JUDGE_FAILURES = 3;

/** Failures that say nothing about the dialogue (Ollama down, busy, the judge's model missing): never counted. */
const INFRASTRUCTURE = new Set(['OLLAMA_UNREACHABLE', 'OLLAMA_BUSY', 'OLLAMA_MODEL_MISSING']);

export interface CurationOptions {
  /** Most dialogues per run (`CURATION_BATCH`). */
  batch: number;
  /** Least total (0–5) for a persona's turns to become samples (`CURATION_THRESHOLD`). */
  threshold: number;
}

export interface CurationDeps {
  /** The interaction log: read from the cursor; `get` checks a dialogue is still there before its samples are written. */
  records: Pick<Memory, 'since' | 'get'>;
  modelFor: ModelFor;
  /** The personas in force now (a ratified amendment reloads them). */
  personas: () => PersonaRegistry;
  /** The codex's `[curation]` table in force now. */
  judge: () => CurationSettings;
  ledger: CurationLedger;
  golden: GoldenStore;
  /**
   * The dialogue's own reading of a persona's control lines (`DISSONANCE:`, `TOOL_REQUIRED:`,
   * `TOOL_CALL:`): where it finds one malformed, the format point is 0 whatever the judge said.
   */
  formatOk?: (personaId: string, text: string) => boolean;
  clock: Clock;
  logger: Logger;
  options: CurationOptions;
}

/** One persona's count in one run. */
export interface PersonaTally {
  /** Valid verdicts. */
  judged: number;
  /** At or above the threshold. */
  kept: number;
  /** Below the threshold. */
  rejected: number;
  /** The judge's answer was not a valid verdict: not golden. */
  invalid: number;
  /** Turns not recorded whole (before system prompts were kept): not judged. */
  incomplete: number;
  /** Samples written to the set. */
  added: number;
  /** Samples the set already held (same content). */
  duplicates: number;
}

/** A verdict of the run, with the dialogue it was about. */
export interface RunVerdict extends StoredVerdict {
  conversationId: string;
  task: string;
}

/** What one run did: the data the bot, the job and the terminal render. */
export interface CurationReport {
  dryRun: boolean;
  /** Dialogues this run got through (every persona judged, samples written). */
  dialogues: number;
  /** By persona id, in the order they were met. */
  personas: Record<string, PersonaTally>;
  /** Every verdict of the run, in order (reused ones, after a crash, too). */
  verdicts: RunVerdict[];
  /** The highest and lowest valid verdicts of the run. */
  best?: RunVerdict;
  worst?: RunVerdict;
  /** More dialogues wait after this batch. */
  more: boolean;
  /** Why the run stopped before the end of its batch (the judge failing, a shutdown). */
  stopped?: string;
  /** Another process (this pid) is curating: this run did nothing. */
  busy?: number;
  /** The cursor after the run. */
  cursor: number;
  startedAt: number;
  finishedAt: number;
}

/** What `/memory forget` removed from the golden sets. */
export interface ForgetReport {
  /** Samples removed, by persona (anchor samples are counted in `anchor`, and are also in the set). */
  removed: Record<string, { samples: number; anchor: number }>;
  /** All samples removed. */
  total: number;
  /** Another process (this pid) holds the sets: the samples go when it is done (they are never trained on: the ids are recorded). */
  pendingOn?: number;
}

/** One persona's golden set, for `/curate show`. */
export interface GoldenSetView {
  persona: string;
  manifest: GoldenManifest;
  /** Verdicts for this persona: valid ones by total, and the rest by status. */
  histogram: ReturnType<CurationLedger['histogram']>;
  /** The last samples, newest last. */
  newest: GoldenSample[];
  /** The dataset file to attach: whole, or its newest lines when it is bigger than asked. */
  file: { name: string; data: Buffer; whole: boolean };
  path: string;
  anchorPath: string;
}

export interface Curation {
  /** Cuts torn lines a kill left and removes what waits to be forgotten: call at the process's start. */
  start(): { repaired: Record<string, number> } | { busy: number };
  /** Judges the next batch. `dryRun`: judges and reports, writes nothing (no verdict, no sample, no cursor). */
  run(options?: { dryRun?: boolean }): Promise<CurationReport>;
  /** Removes the samples of these interaction log records from every set and anchor. */
  forget(interactionIds: readonly string[]): Promise<ForgetReport>;
  /** A persona's set, or undefined when it has none: its last `newest` samples and at most `fileBytes` of its file. */
  show(persona: string, options?: { newest?: number; fileBytes?: number }): GoldenSetView | undefined;
  /** Every set's size. */
  sizes(): Array<{ persona: string; samples: number; anchor: number; frozen: boolean }>;
  /** The last run's report (a run started by the scheduler or `/curate run`). */
  lastReport(): CurationReport | undefined;
  /** Stops a run between two model calls and waits for it. */
  close(): Promise<void>;
}

/** A persona's tally in a report, made on first use. */
function tallyOf(report: CurationReport, persona: string): PersonaTally {
  report.personas[persona] ??= emptyTally();
  return report.personas[persona];
}

const emptyTally = (): PersonaTally => ({
  judged: 0,
  kept: 0,
  rejected: 0,
  invalid: 0,
  incomplete: 0,
  added: 0,
  duplicates: 0,
});

/** The one-line account of a run: `curated 12 dialogues: BRICK +3, ROBIN +1`. */
export function summaryLine(report: CurationReport): string {
  if (report.busy) return `another process (pid ${report.busy}) is curating; nothing done`;
  const more = report.more ? ' (more waiting)' : '';
  const stopped = report.stopped ? `; stopped: ${report.stopped}` : '';
  if (report.dialogues === 0) return `nothing new to curate${stopped}`;
  const tallies = Object.entries(report.personas);
  if (report.dryRun) {
    const kept = tallies.map(
      ([persona, t]) => `${persona} ${t.kept} of ${t.judged + t.invalid + t.incomplete}`,
    );
    return `dry run: judged ${plural(report.dialogues, 'dialogue')}, would keep ${kept.join(', ')}; nothing written${more}${stopped}`;
  }
  const added = tallies.filter(([, t]) => t.added > 0).map(([persona, t]) => `${persona} +${t.added}`);
  return `curated ${plural(report.dialogues, 'dialogue')}: ${added.length ? added.join(', ') : 'nothing kept'}${more}${stopped}`;
}

/** The persona ids that spoke in a record, in order, that the codex still defines. */
function speakersOf(record: StoredRecord, registry: PersonaRegistry): string[] {
  return [...new Set(record.turns.map((turn) => turn.speaker))].filter((id) => registry.has(id));
}

export function createCuration(deps: CurationDeps): Curation {
  const { ledger, golden, clock, options } = deps;
  const log = deps.logger.child({ module: 'curation' });
  const token = randomUUID();
  const lock = createKeyedLock();
  const stop = new AbortController();
  let leases = 0;
  let running: Promise<CurationReport> | undefined;
  /** Every pass in flight, dry runs too: `close` waits for them before it closes the ledger. */
  const passes = new Set<Promise<unknown>>();
  const tracked = <T>(promise: Promise<T>): Promise<T> => {
    passes.add(promise);
    void promise.finally(() => passes.delete(promise)).catch(() => undefined);
    return promise;
  };
  let last: CurationReport | undefined;

  /**
   * The writer's lease, counted: a forget during this process's own run shares it. Taking it
   * first repairs the sets (a kill, or another process, may have left them changed).
   */
  function takeLease():
    | { ok: true; release: () => void; repaired: Record<string, number> }
    | { ok: false; pid: number } {
    let repaired: Record<string, number> = {};
    if (leases === 0) {
      const taken = ledger.acquireLease(token, clock.now());
      if (!taken.ok) return taken;
      repaired = golden.repair();
      if (Object.keys(repaired).length) log.warn({ repaired }, 'repaired golden datasets torn by a kill');
    }
    leases++;
    let released = false;
    return {
      ok: true,
      repaired,
      release() {
        if (released) return;
        released = true;
        if (--leases === 0) ledger.releaseLease(token);
      },
    };
  }

  /** Removes the samples of every forgotten dialogue still in the files (the lease held). */
  function applyForgets(): ForgetReport['removed'] {
    const ids = ledger.unappliedForgets();
    if (ids.length === 0) return {};
    const removed = golden.remove(new Set(ids));
    ledger.markForgetsApplied(ids);
    const total = Object.values(removed).reduce((n, r) => n + r.samples, 0);
    if (total > 0)
      log.info({ dialogues: ids.length, samples: total }, 'removed forgotten dialogues from the golden sets');
    return removed;
  }

  /** Who judges a persona's part now, under which rubric, and with which model. */
  function judging(record: StoredRecord, personaId: string) {
    const registry = deps.personas();
    const persona = registry.get(personaId);
    const settings = deps.judge();
    // The codex's model, never a fine-tuned version of the judge: it must not drift with what it trains.
    const model = deps.modelFor(settings.judge, {
      temperature: 0,
      model: settings.model ?? registry.get(settings.judge).model,
    });
    const rubric = buildRubric(persona, registry.corePrinciples, registry.codexVersion);
    const base = {
      interactionId: record.id,
      seq: record.seq,
      persona: personaId,
      rubricVersion: rubric.version,
      judge: settings.judge,
      judgeModel: model.model,
      total: null,
      scores: null,
      kept: false,
    };
    return { registry, persona, settings, model, rubric, base };
  }

  /** Scores one persona's part of a dialogue: a verdict, valid or not. Throws when the model call fails. */
  async function judge(record: StoredRecord, personaId: string): Promise<StoredVerdict> {
    const { registry, persona, settings, model, rubric, base } = judging(record, personaId);
    const turns = record.turns.filter((turn) => turn.speaker === personaId);
    if (!isRecordedWhole(turns)) {
      return {
        ...base,
        status: 'incomplete',
        reason: 'its turns were recorded before system prompts and tool exchanges were kept',
        judgedAt: clock.now(),
      };
    }
    const answer = await model.invoke(
      judgeMessages(registry.get(settings.judge), rubric, persona, {
        task: record.task,
        answer: record.answer,
        turns,
      }),
      { format: verdictSchema(), priority: BACKGROUND_PRIORITY, signal: stop.signal },
    );
    const reading = parseVerdict(answer);
    if (!reading.ok) {
      log.warn(
        { interactionId: record.id, persona: personaId, problem: reading.problem },
        'the judge gave no valid verdict; not golden',
      );
      return { ...base, status: 'invalid', reason: reading.problem, judgedAt: clock.now() };
    }
    const verdict = checkFormat(personaId, turns, reading.verdict);
    return {
      ...base,
      status: 'judged',
      total: verdict.total,
      scores: verdict.scores,
      reason: verdict.reason,
      kept: verdict.total >= options.threshold,
      judgedAt: clock.now(),
    };
  }

  /** The judge's verdict, with the format point taken away where the dialogue's parser finds a control line malformed. */
  function checkFormat(personaId: string, turns: readonly RecordedTurn[], verdict: Verdict): Verdict {
    if (!deps.formatOk || verdict.scores.format === 0) return verdict;
    if (turns.every((turn) => deps.formatOk?.(personaId, turn.output))) return verdict;
    return {
      scores: { ...verdict.scores, format: 0 },
      total: verdict.total - 1,
      reason: truncate(`${verdict.reason} (format checked: a control line is malformed)`, REASON_CHARS),
    };
  }

  /** Writes a judged dialogue's samples and moves the cursor past it (after its verdicts are stored). */
  function apply(record: StoredRecord, verdicts: readonly StoredVerdict[], report: CurationReport): void {
    // A dialogue forgotten while it was judged leaves nothing behind.
    const present = !ledger.isForgotten(record.id) && deps.records.get(record.id) !== undefined;
    for (const verdict of verdicts) {
      if (!present || !verdict.kept || !verdict.scores || verdict.total === null) continue;
      const samples = samplesOf(record, verdict.persona, {
        verdict: { scores: verdict.scores, total: verdict.total, reason: verdict.reason },
        judge: verdict.judge,
        judgeModel: verdict.judgeModel,
        rubricVersion: verdict.rubricVersion,
        curatedAt: verdict.judgedAt,
      });
      const { added, duplicates } = golden.append(verdict.persona, samples);
      const tally = tallyOf(report, verdict.persona);
      tally.added += added;
      tally.duplicates += duplicates;
    }
    ledger.advance(record.seq);
  }

  function count(report: CurationReport, verdict: RunVerdict): void {
    report.verdicts.push(verdict);
    const tally = tallyOf(report, verdict.persona);
    if (verdict.status === 'invalid') tally.invalid++;
    else if (verdict.status === 'incomplete') tally.incomplete++;
    else {
      tally.judged++;
      if (verdict.kept) tally.kept++;
      else tally.rejected++;
      if (!report.best || (verdict.total ?? 0) > (report.best.total ?? 0)) report.best = verdict;
      if (!report.worst || (verdict.total ?? 0) < (report.worst.total ?? 0)) report.worst = verdict;
    }
  }

  async function pass(dryRun: boolean): Promise<CurationReport> {
    const report: CurationReport = {
      dryRun,
      dialogues: 0,
      personas: {},
      verdicts: [],
      more: false,
      cursor: ledger.cursor(),
      startedAt: clock.now(),
      finishedAt: clock.now(),
    };
    const lease = dryRun ? undefined : takeLease();
    if (lease && !lease.ok) {
      report.busy = lease.pid;
      return report;
    }
    try {
      if (!dryRun) await lock.run('golden', async () => void applyForgets());
      const fetched = deps.records.since(ledger.cursor(), options.batch + 1);
      report.more = fetched.length > options.batch;
      dialogues: for (const record of fetched.slice(0, options.batch)) {
        if (stop.signal.aborted) {
          report.stopped = 'shutting down';
          break;
        }
        if (!dryRun && ledger.isForgotten(record.id)) {
          ledger.advance(record.seq);
          continue;
        }
        const reused = dryRun ? [] : ledger.verdictsOf(record.id);
        const verdicts: StoredVerdict[] = [];
        for (const persona of speakersOf(record, deps.personas())) {
          let verdict = reused.find((v) => v.persona === persona);
          if (!verdict) {
            try {
              verdict = await judge(record, persona);
            } catch (error) {
              if (stop.signal.aborted) {
                report.stopped = 'shutting down';
                break dialogues;
              }
              const known = findAppError(error);
              const why = known?.message ?? (error as Error).message ?? String(error);
              const failures =
                dryRun || INFRASTRUCTURE.has(known?.code ?? '') ? 0 : ledger.noteFailure(record.seq);
              log.warn({ err: error, interactionId: record.id, persona, failures }, 'the judge failed');
              if (failures < MAX_JUDGE_FAILURES) {
                report.stopped = `the judge failed: ${why}`;
                break dialogues;
              }
              verdict = {
                ...judging(record, persona).base,
                status: 'invalid',
                reason: `the judge failed ${failures} times: ${why}`,
                judgedAt: clock.now(),
              };
            }
            // Stored before any sample is written: a kill from here on never costs a second judging.
            if (!dryRun && !ledger.putVerdict(verdict)) continue dialogues;
          }
          verdicts.push(verdict);
          count(report, { ...verdict, conversationId: record.conversationId, task: record.task });
        }
        if (!dryRun) await lock.run('golden', async () => apply(record, verdicts, report));
        report.dialogues++;
      }
      if (!dryRun) {
        await lock.run('golden', async () => {
          golden.flush();
          applyForgets();
        });
      }
    } finally {
      if (lease?.ok) lease.release();
    }
    report.cursor = ledger.cursor();
    report.finishedAt = clock.now();
    log.info(
      {
        dryRun,
        dialogues: report.dialogues,
        cursor: report.cursor,
        more: report.more,
        stopped: report.stopped,
      },
      'curation run finished',
    );
    return report;
  }

  return {
    start() {
      const lease = takeLease();
      if (!lease.ok) return { busy: lease.pid };
      try {
        applyForgets();
        return { repaired: lease.repaired };
      } finally {
        lease.release();
      }
    },
    run(runOptions = {}) {
      if (stop.signal.aborted) return Promise.reject(new Error('curation is closed'));
      const dryRun = runOptions.dryRun ?? false;
      if (dryRun) return tracked(pass(true));
      running ??= tracked(pass(false))
        .then((report) => {
          last = report;
          return report;
        })
        .finally(() => {
          running = undefined;
        });
      return running;
    },
    async forget(interactionIds) {
      if (interactionIds.length === 0) return { removed: {}, total: 0 };
      // Recorded first: a run that judged one of them meanwhile writes none of its samples.
      ledger.forget(interactionIds, clock.now());
      return lock.run('golden', async () => {
        const lease = takeLease();
        if (!lease.ok) return { removed: {}, total: 0, pendingOn: lease.pid };
        try {
          const removed = applyForgets();
          return { removed, total: Object.values(removed).reduce((n, r) => n + r.samples, 0) };
        } finally {
          lease.release();
        }
      });
    },
    show(persona, showOptions = {}) {
      const manifest = golden.manifest(persona);
      if (!manifest) return undefined;
      return {
        persona,
        manifest,
        histogram: ledger.histogram(persona),
        newest: golden.newest(persona, showOptions.newest ?? 3),
        file: {
          name: manifest.file,
          ...golden.contents(persona, showOptions.fileBytes ?? Number.MAX_SAFE_INTEGER),
        },
        path: golden.path(persona),
        anchorPath: golden.anchorPath(persona),
      };
    },
    sizes() {
      return golden.personas().flatMap((persona) => {
        const manifest = golden.manifest(persona);
        return manifest
          ? [
              {
                persona,
                samples: manifest.samples,
                anchor: manifest.anchor.samples,
                frozen: manifest.anchor.frozen,
              },
            ]
          : [];
      });
    },
    lastReport: () => last,
    async close() {
      stop.abort();
      await Promise.allSettled([...passes]);
      ledger.close();
    },
  };
}
