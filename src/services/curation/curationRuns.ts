import type { CurationLedger } from './curationLedger.ts';
import { type PassDeps, runPass } from './curationPass.ts';
import type { CurationReport } from './curationReport.ts';
import type { GoldenStore } from './goldenStore.ts';

/**
 * The runs of one curation service: one writing run at a time (a call during one gets its
 * report), dry runs beside it, and a close that stops them between two model calls and waits for
 * them before it closes the ledger and the sets.
 */
export class CurationRuns {
  /** Every pass in flight, dry runs too. */
  private readonly passes = new Set<Promise<unknown>>();
  private running: Promise<CurationReport> | undefined;
  private last: CurationReport | undefined;

  constructor(
    private readonly deps: PassDeps & {
      ledger: Pick<CurationLedger, 'close'>;
      golden: Pick<GoldenStore, 'close'>;
    },
    /** Aborts `deps.signal`. */
    private readonly stop: AbortController,
  ) {}

  run(options: { dryRun?: boolean } = {}): Promise<CurationReport> {
    if (this.stop.signal.aborted) return Promise.reject(new Error('curation is closed'));
    if (options.dryRun ?? false) return this.tracked(runPass(this.deps, true));
    this.running ??= this.tracked(runPass(this.deps, false))
      .then((report) => {
        this.last = report;
        return report;
      })
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  /** The last writing run's report. */
  lastReport(): CurationReport | undefined {
    return this.last;
  }

  async close(): Promise<void> {
    this.stop.abort();
    await Promise.allSettled([...this.passes]);
    await this.deps.ledger.close();
    await this.deps.golden.close();
  }

  private tracked<T>(promise: Promise<T>): Promise<T> {
    this.passes.add(promise);
    void promise.finally(() => this.passes.delete(promise)).catch(() => undefined);
    return promise;
  }
}
