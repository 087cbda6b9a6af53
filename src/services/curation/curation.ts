import { createKeyedLock } from '../../shared/concurrency.ts';
import type { Clock } from '../clock.ts';
import type { CurationSettings } from '../codex/codexSchema.ts';
import type { ModelFor } from '../llm/chatModel.ts';
import type { Logger } from '../logger.ts';
import type { Memory } from '../memory/memory.ts';
import type { PersonaRegistry } from '../personas.ts';
import { type Calibration, calibrate, type HumanLabel } from './calibration.ts';
import { type ForgetReport, forgetDialogues, forgetMember, startCuration } from './curationForgets.ts';
import { CurationLease } from './curationLease.ts';
import type { CurationLedger } from './curationLedger.ts';
import type { PassDeps } from './curationPass.ts';
import {
  forgetReactions,
  type PeopleAgreement,
  type PeoplePort,
  peopleAgreement,
  withdrawVetoed,
} from './curationPeople.ts';
import type { CurationReport } from './curationReport.ts';
import { CurationRuns } from './curationRuns.ts';
import type { CurationScope } from './curationScope.ts';
import { type GoldenSetSize, type GoldenSetView, goldenSetSizes, showGoldenSet } from './goldenSetView.ts';
import type { GoldenStore } from './goldenStore.ts';

export type { Agreement } from './agreement.ts';
export type { Calibration, HumanLabel } from './calibration.ts';
export type { ForgetReport } from './curationForgets.ts';
export { MAX_JUDGE_FAILURES } from './curationJudge.ts';
export type { PeopleAgreement, PeoplePort } from './curationPeople.ts';
export { type CurationReport, type PersonaTally, type RunVerdict, summaryLine } from './curationReport.ts';
export type { CurationScope } from './curationScope.ts';
export type { GoldenSetSize, GoldenSetView } from './goldenSetView.ts';

/**
 * The curation loop (the first half of the strategic loop): the judge scores every finished
 * dialogue once, persona by persona, and each persona's turns that score at least the threshold
 * become golden samples for its fine-tuning. It works through the interaction log from a cursor,
 * a bounded batch per run, its model calls behind people's (`BACKGROUND_PRIORITY`).
 *
 * The service binds its parts: the writer's lease (curationLease), a run (curationPass, judging in
 * curationJudge and formatCheck), the runs in flight (curationRuns), forgets (curationForgets),
 * the report (curationReport) and the views of the sets (goldenSetView).
 */

export interface CurationOptions {
  /** Most dialogues per run (`CURATION_BATCH`). */
  batch: number;
  /** Least total (0–5) for a persona's turns to become samples (`CURATION_THRESHOLD`). */
  threshold: number;
  /** Which dialogues may become samples (`CURATION_SCOPE`). */
  scope: CurationScope;
  /** Most samples one member's dialogues of a UTC day may add (`CURATION_MEMBER_DAILY`; 0: no cap). */
  memberDaily: number;
}

export interface CurationDeps {
  /**
   * The interaction log: read from the cursor; `get` checks a dialogue is still there before its
   * samples are written; `records` gives a conversation's earlier runs.
   */
  records: Pick<Memory, 'since' | 'get' | 'records'>;
  modelFor: ModelFor;
  /** The personas in force now (a ratified amendment reloads them). */
  personas: () => PersonaRegistry;
  /** The codex's `[curation]` table in force now. */
  judge: () => CurationSettings;
  ledger: CurationLedger;
  golden: GoldenStore;
  /** People's reactions to the personas' posts (absent: nobody reacts, as in the terminal). */
  people?: PeoplePort;
  /**
   * The dialogue's own reading of a persona's control lines (`DISSONANCE:`, `TOOL_REQUIRED:`,
   * `TOOL_CALL:`): where it finds one malformed, the format point is 0 whatever the judge said.
   */
  formatOk?: (personaId: string, text: string) => boolean;
  clock: Clock;
  logger: Logger;
  options: CurationOptions;
}

export interface Curation {
  /** Cuts torn lines a kill left and removes what waits to be forgotten: call at the process's start. */
  start(): Promise<{ repaired: Record<string, number> } | { busy: number }>;
  /** Judges the next batch. `dryRun`: judges and reports, writes nothing (no verdict, no sample, no cursor). */
  run(options?: { dryRun?: boolean }): Promise<CurationReport>;
  /** Removes the samples of these interaction log records (and those that recalled them) from every set and anchor, and the reactions to them. */
  forget(interactionIds: readonly string[]): Promise<ForgetReport>;
  /** Removes every sample that holds a member's words from every set and anchor (`/curate forget member:`). */
  forgetMember(userId: string): Promise<ForgetReport>;
  /**
   * Removes the samples an architect's 👎 withdrew (that persona's, of that dialogue), or leaves
   * them to the process that holds the sets (`pendingOn`), which removes them when it curates.
   */
  withdrawVetoed(): Promise<ForgetReport>;
  /** The judge's verdicts against people's 👍 and 👎 (on one persona's turns, when named). */
  agreement(persona?: string): Promise<PeopleAgreement>;
  /** The judge's verdicts against a file of people's labels. */
  calibrate(labels: readonly HumanLabel[]): Promise<Calibration>;
  /** A persona's set, or undefined when it has none: its last `newest` samples and at most `fileBytes` of its file. */
  show(
    persona: string,
    options?: { newest?: number; fileBytes?: number },
  ): Promise<GoldenSetView | undefined>;
  /** Every set's size. */
  sizes(): Promise<GoldenSetSize[]>;
  /** The last run's report (a run started by the scheduler or `/curate run`). */
  lastReport(): CurationReport | undefined;
  /** Stops a run between two model calls and waits for it. */
  close(): Promise<void>;
}

export function createCuration(deps: CurationDeps): Curation {
  const log = deps.logger.child({ module: 'curation' });
  const stop = new AbortController();
  const lease = new CurationLease({ ledger: deps.ledger, golden: deps.golden, clock: deps.clock, log });
  const parts: PassDeps & { ledger: CurationLedger; golden: GoldenStore } = {
    ...deps,
    log,
    signal: stop.signal,
    lease,
    lock: createKeyedLock(),
  };
  const runs = new CurationRuns(parts, stop);
  return {
    start: () => startCuration(parts),
    run: (options) => runs.run(options),
    forget: async (interactionIds) => {
      await forgetReactions(parts, interactionIds);
      return forgetDialogues(parts, interactionIds);
    },
    forgetMember: (userId) => forgetMember(parts, userId),
    withdrawVetoed: () => withdrawVetoed(parts),
    agreement: (persona) => peopleAgreement(parts, persona),
    calibrate: (labels) => calibrate(deps.ledger, labels),
    show: (persona, options) => showGoldenSet(deps, persona, options),
    sizes: () => goldenSetSizes(deps.golden),
    lastReport: () => runs.lastReport(),
    close: () => runs.close(),
  };
}
