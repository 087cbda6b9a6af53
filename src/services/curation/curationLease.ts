import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.ts';
import type { Logger } from '../logger.ts';
import type { CurationLedger } from './curationLedger.ts';
import type { GoldenStore } from './goldenStore.ts';

/** A lease taken (release it once done), or the pid of the process that holds it. */
export type LeaseTaking =
  | { ok: true; release: () => void; repaired: Record<string, number> }
  | { ok: false; pid: number };

export interface CurationLeaseDeps {
  ledger: Pick<CurationLedger, 'acquireLease' | 'releaseLease'>;
  golden: Pick<GoldenStore, 'repair'>;
  clock: Clock;
  log: Logger;
}

/**
 * The writer's lease on the golden sets: one curation process at a time writes them (the lease
 * is a row in the ledger, shared by every process on the data folder). Within this process it is
 * counted, so a forget during this process's own run shares it.
 */
export class CurationLease {
  private readonly token = randomUUID();
  /** Takings not yet released in this process: the ledger's lease goes when the last is. */
  private holders = 0;

  constructor(private readonly deps: CurationLeaseDeps) {}

  /**
   * Takes the lease, or shares it when this process holds it already. Taking it first repairs the
   * sets (a kill, or another process, may have left them changed).
   */
  take(): LeaseTaking {
    let repaired: Record<string, number> = {};
    if (this.holders === 0) {
      const taken = this.deps.ledger.acquireLease(this.token, this.deps.clock.now());
      if (!taken.ok) return taken;
      repaired = this.deps.golden.repair();
      if (Object.keys(repaired).length) {
        this.deps.log.warn({ repaired }, 'repaired golden datasets torn by a kill');
      }
    }
    this.holders++;
    let released = false;
    return {
      ok: true,
      repaired,
      release: () => {
        if (released) return;
        released = true;
        if (--this.holders === 0) this.deps.ledger.releaseLease(this.token);
      },
    };
  }
}
