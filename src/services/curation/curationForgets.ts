import type { KeyedLock } from '../../shared/concurrency.ts';
import type { Clock } from '../clock.ts';
import type { Logger } from '../logger.ts';
import type { CurationLease } from './curationLease.ts';
import type { CurationLedger } from './curationLedger.ts';
import type { GoldenStore } from './goldenStore.ts';

/**
 * `/memory forget` in curation: a forgotten dialogue's samples leave every golden set and anchor.
 * The forget is recorded in the ledger first and applied under the writer's lease, now or, when
 * another process holds the lease, by whichever process takes it next.
 */

/** What `/memory forget` removed from the golden sets. */
export interface ForgetReport {
  /** Samples removed, by persona (anchor samples are counted in `anchor`, and are also in the set). */
  removed: Record<string, { samples: number; anchor: number }>;
  /** All samples removed. */
  total: number;
  /** Another process (this pid) holds the sets: the samples go when it is done (they are never trained on: the ids are recorded). */
  pendingOn?: number;
}

export interface ForgetDeps {
  ledger: Pick<
    CurationLedger,
    | 'forget'
    | 'unappliedForgets'
    | 'markForgetsApplied'
    | 'forgetMember'
    | 'unappliedMemberForgets'
    | 'markMemberForgetsApplied'
  >;
  golden: Pick<GoldenStore, 'remove' | 'removeMembers'>;
  log: Logger;
}

/** Removes the samples of every forgotten dialogue and member still in the sets (the lease held). */
export async function applyForgets(deps: ForgetDeps): Promise<ForgetReport['removed']> {
  const ids = await deps.ledger.unappliedForgets();
  const members = await deps.ledger.unappliedMemberForgets();
  if (ids.length === 0 && members.length === 0) return {};
  const removed = addRemoved(
    await deps.golden.remove(new Set(ids)),
    await deps.golden.removeMembers(new Set(members)),
  );
  await deps.ledger.markForgetsApplied(ids);
  await deps.ledger.markMemberForgetsApplied(members);
  const total = sampleCount(removed);
  if (total > 0)
    deps.log.info(
      { dialogues: ids.length, members: members.length, samples: total },
      'removed forgotten dialogues and members from the golden sets',
    );
  return removed;
}

/** Two removals' counts, by persona, added up. */
function addRemoved(a: ForgetReport['removed'], b: ForgetReport['removed']): ForgetReport['removed'] {
  const sum = { ...a };
  for (const [persona, r] of Object.entries(b)) {
    const before = sum[persona] ?? { samples: 0, anchor: 0 };
    sum[persona] = { samples: before.samples + r.samples, anchor: before.anchor + r.anchor };
  }
  return sum;
}

const sampleCount = (removed: ForgetReport['removed']) =>
  Object.values(removed).reduce((n, r) => n + r.samples, 0);

/** Records these dialogues as forgotten and removes their samples, unless another process holds the sets. */
export async function forgetDialogues(
  deps: ForgetDeps & {
    ledger: Pick<CurationLedger, 'scrub'>;
    clock: Clock;
    lease: CurationLease;
    lock: KeyedLock;
  },
  interactionIds: readonly string[],
): Promise<ForgetReport> {
  if (interactionIds.length === 0) return { removed: {}, total: 0 };
  // Recorded first: a run that judged one of them meanwhile writes none of its samples.
  await deps.ledger.forget(interactionIds, deps.clock.now());
  const report = await applyUnderLease(deps);
  // The verdicts dropped (a judge's reason may quote the dialogue) leave the storage too (SQLite's
  // write-ahead log, PostgreSQL's dead rows).
  await deps.ledger.scrub(['verdicts']);
  return report;
}

/**
 * `/curate forget member:`: records the member as forgotten (their words from before now are not
 * curated again) and removes every sample that holds them, unless another process holds the sets.
 */
export async function forgetMember(
  deps: ForgetDeps & { clock: Clock; lease: CurationLease; lock: KeyedLock },
  userId: string,
): Promise<ForgetReport> {
  // Recorded first: a run that judged one of their dialogues meanwhile writes none of its samples.
  await deps.ledger.forgetMember(userId, deps.clock.now());
  return applyUnderLease(deps);
}

/** Applies what waits to be forgotten under the lease, or says which process holds it. */
function applyUnderLease(
  deps: ForgetDeps & { lease: CurationLease; lock: KeyedLock },
): Promise<ForgetReport> {
  return deps.lock.run('golden', async () => {
    const lease = await deps.lease.take();
    if (!lease.ok) return { removed: {}, total: 0, pendingOn: lease.pid };
    try {
      const removed = await applyForgets(deps);
      return { removed, total: sampleCount(removed) };
    } finally {
      await lease.release();
    }
  });
}

/**
 * At the process's start: takes the lease (which repairs the sets torn by a kill) and removes what
 * waits to be forgotten; or says which process holds the lease.
 */
export async function startCuration(
  deps: ForgetDeps & { lease: CurationLease },
): Promise<{ repaired: Record<string, number> } | { busy: number }> {
  const lease = await deps.lease.take();
  if (!lease.ok) return { busy: lease.pid };
  try {
    await applyForgets(deps);
    return { repaired: lease.repaired };
  } finally {
    await lease.release();
  }
}
