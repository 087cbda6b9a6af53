import type { EventBus } from '../eventBus.ts';
import type { JobSpec } from '../scheduler.ts';
import { type Curation, summaryLine } from './curation.ts';

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
