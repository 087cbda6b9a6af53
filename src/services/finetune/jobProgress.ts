import { withoutHostDetails } from '../../shared/hostDetails.ts';
import { type FinetuneRuntime, updateJob } from './fineTunerDeps.ts';
import type { FinetuneJob } from './finetuneStore.ts';

/** A job's latest record as its steps change it: every change is stored, most also published. */
export class JobProgress {
  constructor(
    private readonly deps: Pick<FinetuneRuntime, 'store' | 'bus' | 'clock' | 'log'>,
    public job: FinetuneJob,
  ) {}

  /** Stores and publishes a change. */
  update(change: Partial<FinetuneJob>): FinetuneJob {
    this.job = updateJob(this.deps, this.job.id, change);
    return this.job;
  }

  /** Stores a change without publishing it: it matters to a restart, not to whoever follows the job. */
  record(change: Partial<FinetuneJob>): void {
    this.job = this.deps.store.update(this.job.id, () => change, this.deps.clock.now());
  }

  /**
   * Ends the job as failed. `error` may name paths and addresses (a trainer's reason): the job
   * keeps it whole as `errorDetail`, and in public words as `error`. `publicError` gives those
   * words where the caller has them (an AppError's public message).
   */
  fail(error: string, logTail?: string, publicError = withoutHostDetails(error)): void {
    const job = this.update({
      state: 'failed',
      stage: 'done',
      error: publicError,
      ...(publicError !== error ? { errorDetail: error } : {}),
      ...(logTail ? { logTail } : {}),
      finishedAt: this.deps.clock.now(),
    });
    this.deps.log.warn({ job: job.id, persona: job.persona, error }, 'fine-tune failed; nothing was swapped');
  }
}
