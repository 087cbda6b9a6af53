import { plural } from '../../shared/text.ts';
import type { StoredVerdict } from './curationLedger.ts';

/**
 * The account of a curation run: what it judged, kept and wrote, persona by persona, with its
 * best and worst verdicts. The bot, the job and the terminal render it; {@link summaryLine} is
 * its one line.
 */

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
  /** Samples left out by `CURATION_MEMBER_DAILY` (absent: none). */
  capped?: number;
  /** Kept by the judge but left out: a member reacted 👎 to the persona's turns of the dialogue. */
  withheld: number;
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
  /**
   * Dialogues passed over unjudged (absent: none): outside `CURATION_SCOPE`, or holding a
   * forgotten dialogue or member's words.
   */
  excluded?: number;
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

/** The report of a run that has not done anything yet. */
export function emptyReport(dryRun: boolean, cursor: number, now: number): CurationReport {
  return {
    dryRun,
    dialogues: 0,
    personas: {},
    verdicts: [],
    more: false,
    cursor,
    startedAt: now,
    finishedAt: now,
  };
}

const emptyTally = (): PersonaTally => ({
  judged: 0,
  kept: 0,
  rejected: 0,
  invalid: 0,
  incomplete: 0,
  added: 0,
  duplicates: 0,
  withheld: 0,
});

/** A persona's tally in a report, made on first use. */
export function tallyOf(report: CurationReport, persona: string): PersonaTally {
  report.personas[persona] ??= emptyTally();
  return report.personas[persona];
}

/** Counts a verdict in the report: its persona's tally, and the run's best and worst. */
export function countVerdict(report: CurationReport, verdict: RunVerdict): void {
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

/** The one-line account of a run: `curated 12 dialogues: BRICK +3, ROBIN +1`. */
export function summaryLine(report: CurationReport): string {
  if (report.busy) return `another process (pid ${report.busy}) is curating; nothing done`;
  const more = report.more ? ' (more waiting)' : '';
  const stopped = report.stopped ? `; stopped: ${report.stopped}` : '';
  const excluded = report.excluded
    ? `; ${plural(report.excluded, 'dialogue')} outside CURATION_SCOPE or forgotten`
    : '';
  const capped = Object.values(report.personas).reduce((n, t) => n + (t.capped ?? 0), 0);
  const cappedNote = capped ? `; ${plural(capped, 'sample')} over CURATION_MEMBER_DAILY` : '';
  if (report.dialogues === 0) return `nothing new to curate${excluded}${stopped}`;
  const tallies = Object.entries(report.personas);
  if (report.dryRun) {
    const kept = tallies.map(
      ([persona, t]) => `${persona} ${t.kept} of ${t.judged + t.invalid + t.incomplete}`,
    );
    return `dry run: judged ${plural(report.dialogues, 'dialogue')}, would keep ${kept.join(', ')}; nothing written${excluded}${more}${stopped}`;
  }
  const added = tallies.filter(([, t]) => t.added > 0).map(([persona, t]) => `${persona} +${t.added}`);
  return `curated ${plural(report.dialogues, 'dialogue')}: ${added.length ? added.join(', ') : 'nothing kept'}${cappedNote}${excluded}${more}${stopped}`;
}
