import type { EventBus } from '../eventBus.ts';
import type { JobRun, JobSpec, Scheduler } from '../scheduler.ts';
import { type Curation, type CurationReport, summaryLine } from './curation.ts';

/** The scheduler's name for the curation job (`/curate run` runs it now). */
export const CURATION_JOB = 'curation';

/**
 * The curation job on the shared scheduler: autonomous, so it waits while a codex proposal is
 * drafted or pending. A run that kept something is published (`curated`) for the bot's log
 * channel; a run the judge cut short ends as an error, so `/status` shows why.
 */
export function createCurationJob(deps: {
  curation: Pick<Curation, 'run'>;
  bus: EventBus;
  /** `CURATION_CRON`. */
  cron: string;
}): JobSpec {
  return {
    name: CURATION_JOB,
    cron: deps.cron,
    setting: 'CURATION_CRON',
    autonomous: true,
    async run() {
      const report = await deps.curation.run();
      if (Object.values(report.personas).some((tally) => tally.added > 0)) {
        deps.bus.publish('curated', { report });
      }
      if (report.stopped && report.stopped !== 'shutting down') throw new Error(summaryLine(report));
      return summaryLine(report);
    },
  };
}

/** A run of the curation job asked for now (`/curate run`), and its report when it ran. */
export interface CurationRunNow {
  run: JobRun;
  /** Undefined when the run was skipped (autonomy paused, a run already going). */
  report: CurationReport | undefined;
}

/** Runs the curation job now, as a tick would: the same pause and overlap rules. */
export function createCurationTrigger(deps: {
  scheduler: Pick<Scheduler, 'runNow'>;
  curation: Pick<Curation, 'lastReport'>;
}): { runNow(): Promise<CurationRunNow> } {
  return {
    async runNow() {
      const run = await deps.scheduler.runNow(CURATION_JOB);
      return { run, report: run.outcome === 'skipped' ? undefined : deps.curation.lastReport() };
    },
  };
}
