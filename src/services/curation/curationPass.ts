import type { KeyedLock } from '../../shared/concurrency.ts';
import type { StoredRecord } from '../memory/interactionLog.ts';
import type { Memory } from '../memory/memory.ts';
import { appendWithinCap } from './curationCaps.ts';
import { applyForgets, type ForgetDeps } from './curationForgets.ts';
import { type JudgeDeps, judgeOrStop, speakersOf } from './curationJudge.ts';
import type { CurationLease } from './curationLease.ts';
import type { CurationLedger, StoredVerdict } from './curationLedger.ts';
import { applyVetoes, type PeopleDeps, peopleOn, withReactions } from './curationPeople.ts';
import { type CurationReport, countVerdict, emptyReport, tallyOf } from './curationReport.ts';
import { type CurationScope, exclusionOf, provenanceOf } from './curationScope.ts';
import type { GoldenStore } from './goldenStore.ts';
import { samplesOf } from './sample.ts';

/**
 * One curation run: the next batch of the interaction log, judged dialogue by dialogue; each
 * dialogue's verdicts stored, then its kept samples written and the cursor moved past it. A dry
 * run judges and reports, and writes nothing.
 */

export interface PassDeps extends JudgeDeps, ForgetDeps, PeopleDeps {
  /**
   * The interaction log: read from the cursor; `get` checks a dialogue is still there before its
   * samples are written; `records` gives a conversation's earlier runs (whose words its prompts hold).
   */
  records: Pick<Memory, 'since' | 'get' | 'records'>;
  ledger: Pick<
    CurationLedger,
    | 'cursor'
    | 'advance'
    | 'isForgotten'
    | 'verdictsOf'
    | 'putVerdict'
    | 'noteFailure'
    | 'forget'
    | 'unappliedForgets'
    | 'markForgetsApplied'
    | 'forgetMember'
    | 'memberForgottenAt'
    | 'unappliedMemberForgets'
    | 'markMemberForgetsApplied'
    | 'memberAdded'
    | 'countMemberSamples'
  >;
  golden: Pick<GoldenStore, 'append' | 'flush' | 'remove' | 'removeMembers' | 'removeFromSet' | 'has'>;
  options: { batch: number; threshold: number; scope: CurationScope; memberDaily: number };
  lease: CurationLease;
  /** The golden sets' writes, one at a time (`golden`): a forget waits between two dialogues. */
  lock: KeyedLock;
}

/** What judging one dialogue came to: its verdicts, a dialogue forgotten meanwhile (skipped), or a stop. */
type DialogueOutcome = { verdicts: StoredVerdict[] } | { forgotten: true } | { stop: string };

/** Judges each persona of one dialogue (reusing the verdicts stored before a crash), counting each in the report. */
async function judgeDialogue(
  deps: PassDeps,
  record: StoredRecord,
  report: CurationReport,
): Promise<DialogueOutcome> {
  const { dryRun } = report;
  const reused = dryRun ? [] : await deps.ledger.verdictsOf(record.id);
  const verdicts: StoredVerdict[] = [];
  for (const persona of speakersOf(record, deps.personas())) {
    let verdict = reused.find((v) => v.persona === persona);
    if (!verdict) {
      const judged = await judgeOrStop(deps, record, persona, dryRun);
      if ('stop' in judged) return judged;
      verdict = judged.verdict;
      // Stored before any sample is written: a kill from here on never costs a second judging.
      if (!dryRun && !(await deps.ledger.putVerdict(verdict))) return { forgotten: true };
    }
    verdicts.push(verdict);
    countVerdict(report, { ...verdict, conversationId: record.conversationId, task: record.task });
  }
  return { verdicts };
}

/** Writes a judged dialogue's samples and moves the cursor past it (after its verdicts are stored). */
async function writeSamples(
  deps: PassDeps,
  record: StoredRecord,
  verdicts: readonly StoredVerdict[],
  report: CurationReport,
): Promise<void> {
  // A dialogue forgotten while it was judged (or what it recalled, or its asker) leaves nothing behind.
  const provenance = await provenanceOf(deps, record);
  const present =
    !(await deps.ledger.isForgotten(record.id)) &&
    (await deps.records.get(record.id)) !== undefined &&
    (await exclusionOf(deps, provenance, deps.options.scope)) === undefined;
  for (const verdict of verdicts) {
    if (!present || !verdict.kept || !verdict.scores || verdict.total === null) continue;
    // One member's 👎 keeps the persona's turns of this dialogue out, whatever the judge said.
    const people = await peopleOn(deps, record, verdict.persona);
    if (people.down.length > 0) {
      tallyOf(report, verdict.persona).withheld++;
      continue;
    }
    const judgement = {
      verdict: { scores: verdict.scores, total: verdict.total, reason: verdict.reason },
      judge: verdict.judge,
      judgeModel: verdict.judgeModel,
      rubricVersion: verdict.rubricVersion,
      curatedAt: verdict.judgedAt,
    };
    const samples = withReactions(samplesOf(record, verdict.persona, judgement, provenance), people);
    const { added, duplicates, capped } = await appendWithinCap(
      { ...deps, memberDaily: deps.options.memberDaily },
      record,
      verdict.persona,
      samples,
    );
    const tally = tallyOf(report, verdict.persona);
    tally.added += added;
    tally.duplicates += duplicates;
    if (capped) tally.capped = (tally.capped ?? 0) + capped;
  }
  await deps.ledger.advance(record.seq);
}

/** Works through the batch after the cursor, until its end, a shutdown or the judge failing. */
async function judgeBatch(deps: PassDeps, report: CurationReport): Promise<void> {
  const { dryRun } = report;
  if (!dryRun) {
    await deps.lock.run('golden', async () => {
      await applyForgets(deps);
      await applyVetoes(deps);
    });
  }
  const fetched = await deps.records.since(await deps.ledger.cursor(), deps.options.batch + 1);
  report.more = fetched.length > deps.options.batch;
  for (const record of fetched.slice(0, deps.options.batch)) {
    if (deps.signal.aborted) {
      report.stopped = 'shutting down';
      break;
    }
    if (!dryRun && (await deps.ledger.isForgotten(record.id))) {
      await deps.ledger.advance(record.seq);
      continue;
    }
    // Outside the scope, or holding what was forgotten: never judged, so no verdict quotes it.
    const excluded = await exclusionOf(deps, await provenanceOf(deps, record), deps.options.scope);
    if (excluded) {
      deps.log.debug({ interactionId: record.id, why: excluded }, 'dialogue not curated');
      report.excluded = (report.excluded ?? 0) + 1;
      if (!dryRun) await deps.ledger.advance(record.seq);
      continue;
    }
    const outcome = await judgeDialogue(deps, record, report);
    if ('stop' in outcome) {
      report.stopped = outcome.stop;
      break;
    }
    if ('forgotten' in outcome) continue;
    if (!dryRun) await deps.lock.run('golden', () => writeSamples(deps, record, outcome.verdicts, report));
    report.dialogues++;
  }
  if (!dryRun) {
    await deps.lock.run('golden', async () => {
      await deps.golden.flush();
      await applyForgets(deps);
      await applyVetoes(deps);
    });
  }
}

/** Runs one pass over the next batch, under the writer's lease unless it is a dry run. */
export async function runPass(deps: PassDeps, dryRun: boolean): Promise<CurationReport> {
  const report = emptyReport(dryRun, await deps.ledger.cursor(), deps.clock.now());
  const lease = dryRun ? undefined : await deps.lease.take();
  if (lease && !lease.ok) {
    report.busy = lease.pid;
    return report;
  }
  try {
    await judgeBatch(deps, report);
  } finally {
    if (lease?.ok) await lease.release();
  }
  report.cursor = await deps.ledger.cursor();
  report.finishedAt = deps.clock.now();
  deps.log.info(
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
