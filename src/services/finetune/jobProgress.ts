import { withoutHostDetails } from '../../shared/hostDetails.ts';
import { type FinetuneRuntime, updateJob } from './fineTunerDeps.ts';
import type { FinetuneJob } from './finetuneStore.ts';

/**
 * A job's latest record as its steps change it: every change is stored, most also published.
 * Changes are stored one after another in the order they were made (the trainer's events do not
 * wait for the previous store), so the job's message never steps back to an older state.
 */
export class JobProgress {
  private last: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly deps: Pick<FinetuneRuntime, 'store' | 'bus' | 'clock' | 'log'>,
    public job: FinetuneJob,
  ) {}

  /** Runs `work` after every change made before it, even one that failed. */
  private inTurn<T>(work: () => Promise<T>): Promise<T> {
    const next = this.last.then(work, work);
    this.last = next.catch(() => undefined);
    return next;
  }

  /** Stores and publishes a change. */
  update(change: Partial<FinetuneJob>): Promise<FinetuneJob> {
    return this.inTurn(async () => {
      this.job = await updateJob(this.deps, this.job.id, change);
      return this.job;
    });
  }

  /** Stores a change without publishing it: it matters to a restart, not to whoever follows the job. */
  record(change: Partial<FinetuneJob>): Promise<void> {
    return this.inTurn(async () => {
      this.job = await this.deps.store.update(this.job.id, () => change, this.deps.clock.now());
    });
  }

  /** Resolves once every change made so far is stored (or has failed). */
  async settled(): Promise<void> {
    await this.last;
  }

  /**
   * Ends the job as failed. `error` may name paths and addresses (a trainer's reason): the job
   * keeps it whole as `errorDetail`, and in public words as `error`. `publicError` gives those
   * words where the caller has them (an AppError's public message).
   */
  async fail(error: string, logTail?: string, publicError = withoutHostDetails(error)): Promise<void> {
    const job = await this.update({
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
