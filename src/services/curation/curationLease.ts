import { randomUUID } from 'node:crypto';
import { createKeyedLock } from '../../shared/concurrency.ts';
import type { Clock } from '../clock.ts';
import type { Logger } from '../logger.ts';
import { type CurationLedger, LEASE_TTL_MS } from './curationLedger.ts';
import type { GoldenStore } from './goldenStore.ts';

/** A lease taken (release it once done), or the pid of the process that holds it. */
export type LeaseTaking =
  | { ok: true; release: () => Promise<void>; repaired: Record<string, number> }
  | { ok: false; pid: number };

export interface CurationLeaseDeps {
  ledger: Pick<CurationLedger, 'acquireLease' | 'renewLease' | 'releaseLease'>;
  golden: Pick<GoldenStore, 'repair'>;
  clock: Clock;
  log: Logger;
}

/**
 * The writer's lease on the golden sets: one curation process at a time writes them (the lease
 * is a row in the ledger, shared by every process on the data folder or the database). Within
 * this process it is counted, so a forget during this process's own run shares it; while it is
 * held, it is renewed every third of its life (a lease in PostgreSQL lapses unless renewed, so
 * that a killed holder's frees itself).
 */
export class CurationLease {
  private readonly token = randomUUID();
  /** Takings not yet released in this process: the ledger's lease goes when the last is. */
  private holders = 0;
  private stopRenewing: (() => void) | undefined;
  /** Takes and releases one at a time: the first taking's acquisition is awaited by the next. */
  private readonly turns = createKeyedLock();

  constructor(private readonly deps: CurationLeaseDeps) {}

  /**
   * Takes the lease, or shares it when this process holds it already. Taking it first repairs the
   * sets (a kill, or another process, may have left them changed).
   */
  take(): Promise<LeaseTaking> {
    return this.turns.run('lease', async (): Promise<LeaseTaking> => {
      let repaired: Record<string, number> = {};
      if (this.holders === 0) {
        const taken = await this.deps.ledger.acquireLease(this.token, this.deps.clock.now());
        if (!taken.ok) return taken;
        this.stopRenewing = this.deps.clock.every(LEASE_TTL_MS / 3, () => void this.renew());
        try {
          repaired = await this.deps.golden.repair();
        } catch (error) {
          await this.letGo();
          throw error;
        }
        if (Object.keys(repaired).length) {
          this.deps.log.warn({ repaired }, 'repaired golden datasets torn by a kill');
        }
      }
      this.holders++;
      let released = false;
      return {
        ok: true,
        repaired,
        release: () =>
          this.turns.run('lease', async () => {
            if (released) return;
            released = true;
            if (--this.holders === 0) await this.letGo();
          }),
      };
    });
  }

  private async letGo(): Promise<void> {
    this.stopRenewing?.();
    this.stopRenewing = undefined;
    await this.deps.ledger.releaseLease(this.token);
  }

  private async renew(): Promise<void> {
    try {
      const held = await this.deps.ledger.renewLease(this.token, this.deps.clock.now());
      // Released meanwhile: nothing lapsed.
      if (!held && this.stopRenewing)
        this.deps.log.error(
          'the curation lease lapsed and another process took it: two processes may write the golden sets',
        );
    } catch (error) {
      this.deps.log.warn({ err: error }, 'could not renew the curation lease');
    }
  }
}
