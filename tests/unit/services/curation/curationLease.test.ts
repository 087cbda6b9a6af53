import { describe, expect, it } from 'vitest';
import { CurationLease } from '../../../../src/services/curation/curationLease.ts';
import { LEASE_TTL_MS } from '../../../../src/services/curation/curationLedger.ts';
import { createSilentLogger } from '../../../../src/services/logger.ts';
import { ManualClock } from '../../../support/clock.ts';

/** A ledger's lease row in memory: held by one token, or by another process (`otherPid`). */
function fakeLedger(otherPid?: number) {
  const calls: string[] = [];
  let holder: string | undefined;
  return {
    calls,
    held: () => holder !== undefined,
    /** Another process takes the lease, as one does once it has lapsed. */
    takeOver: () => {
      holder = 'someone else';
    },
    async acquireLease(token: string): Promise<{ ok: true } | { ok: false; pid: number }> {
      calls.push('acquire');
      if (otherPid !== undefined) return { ok: false, pid: otherPid };
      holder = token;
      return { ok: true };
    },
    async renewLease(token: string) {
      calls.push('renew');
      return holder === token;
    },
    async releaseLease(token: string) {
      calls.push('release');
      if (holder === token) holder = undefined;
    },
  };
}

function leaseOn(ledger: ReturnType<typeof fakeLedger>, torn: Record<string, number> = {}) {
  let repairs = 0;
  const clock = new ManualClock();
  const errors: string[] = [];
  const log = createSilentLogger();
  log.error = ((message: string) => {
    errors.push(message);
  }) as typeof log.error;
  const lease = new CurationLease({
    ledger,
    golden: {
      repair: async () => {
        repairs++;
        return torn;
      },
    },
    clock,
    log,
  });
  return { lease, clock, errors, repairs: () => repairs };
}

describe('the curation lease', () => {
  it('is taken once in the ledger however many share it here, repairs the sets then, and goes with the last release', async () => {
    const ledger = fakeLedger();
    const { lease, repairs } = leaseOn(ledger, { BRICK: 1 });
    const [run, forget] = await Promise.all([lease.take(), lease.take()]);
    expect(run).toMatchObject({ ok: true, repaired: { BRICK: 1 } });
    expect(forget).toMatchObject({ ok: true, repaired: {} });
    expect(repairs()).toBe(1);
    if (!run.ok || !forget.ok) throw new Error('not taken');
    await forget.release();
    await forget.release();
    expect(ledger.held()).toBe(true);
    await run.release();
    expect(ledger.held()).toBe(false);
    expect(ledger.calls).toEqual(['acquire', 'release']);
  });

  it('says which process holds it, and repairs nothing then', async () => {
    const { lease, repairs } = leaseOn(fakeLedger(4242));
    expect(await lease.take()).toEqual({ ok: false, pid: 4242 });
    expect(repairs()).toBe(0);
  });

  it('is renewed while held, every third of its life, and no more once released', async () => {
    const ledger = fakeLedger();
    const { lease, clock, errors } = leaseOn(ledger);
    const taken = await lease.take();
    if (!taken.ok) throw new Error('not taken');
    await clock.advance(LEASE_TTL_MS);
    expect(ledger.calls.filter((call) => call === 'renew')).toHaveLength(3);
    await taken.release();
    await clock.advance(LEASE_TTL_MS);
    expect(ledger.calls.filter((call) => call === 'renew')).toHaveLength(3);
    expect(errors).toEqual([]);
  });

  it('says so when another process took it after it lapsed', async () => {
    const ledger = fakeLedger();
    const { lease, clock, errors } = leaseOn(ledger);
    const taken = await lease.take();
    if (!taken.ok) throw new Error('not taken');
    ledger.takeOver();
    await clock.advance(LEASE_TTL_MS / 3);
    expect(errors).toEqual([expect.stringContaining('the curation lease lapsed')]);
    await taken.release();
  });
});
