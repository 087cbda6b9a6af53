import { describe, expect, it } from 'vitest';
import { CurationLease } from '../../../../src/services/curation/curationLease.ts';
import { createSilentLogger } from '../../../../src/services/logger.ts';
import { ManualClock } from '../../../support/clock.ts';

/** A ledger's lease row in memory: held by one token, or by another process (`otherPid`). */
function fakeLedger(otherPid?: number) {
  const calls: string[] = [];
  let holder: string | undefined;
  return {
    calls,
    held: () => holder !== undefined,
    acquireLease(token: string): { ok: true } | { ok: false; pid: number } {
      calls.push('acquire');
      if (otherPid !== undefined) return { ok: false, pid: otherPid };
      holder = token;
      return { ok: true };
    },
    releaseLease(token: string) {
      calls.push('release');
      if (holder === token) holder = undefined;
    },
  };
}

function leaseOn(ledger: ReturnType<typeof fakeLedger>, torn: Record<string, number> = {}) {
  let repairs = 0;
  const lease = new CurationLease({
    ledger,
    golden: {
      repair: () => {
        repairs++;
        return torn;
      },
    },
    clock: new ManualClock(),
    log: createSilentLogger(),
  });
  return { lease, repairs: () => repairs };
}

describe('the curation lease', () => {
  it('is taken once in the ledger however many share it here, repairs the sets then, and goes with the last release', () => {
    const ledger = fakeLedger();
    const { lease, repairs } = leaseOn(ledger, { BRICK: 1 });
    const run = lease.take();
    const forget = lease.take();
    expect(run).toMatchObject({ ok: true, repaired: { BRICK: 1 } });
    expect(forget).toMatchObject({ ok: true, repaired: {} });
    expect(repairs()).toBe(1);
    if (!run.ok || !forget.ok) throw new Error('not taken');
    forget.release();
    forget.release();
    expect(ledger.held()).toBe(true);
    run.release();
    expect(ledger.held()).toBe(false);
    expect(ledger.calls).toEqual(['acquire', 'release']);
  });

  it('says which process holds it, and repairs nothing then', () => {
    const { lease, repairs } = leaseOn(fakeLedger(4242));
    expect(lease.take()).toEqual({ ok: false, pid: 4242 });
    expect(repairs()).toBe(0);
  });
});
