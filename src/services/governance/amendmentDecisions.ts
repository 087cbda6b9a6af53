import { readFileSync } from 'node:fs';
import { sha256 } from '../../shared/hash.ts';
import type { Clock } from '../clock.ts';
import type { Codex } from '../codex/loadCodex.ts';
import type { ProcessOwner } from '../db/processOwner.ts';
import type { EventBus } from '../eventBus.ts';
import type { Logger } from '../logger.ts';
import { archiveCodex, writeCodexUnlessChanged } from './codexFile.ts';
import {
  checkDecidable,
  checkHistoryOpened,
  checkPending,
  type Decision,
  type GovernanceRefusal,
  noLockRefusal,
  type Placement,
  type ProposalEvent,
  planApproval,
  staleRefusal,
  transition,
  versionRecord,
} from './proposalStateMachine.ts';
import type { Proposal, ProposalStore } from './proposalStore.ts';

/**
 * The architect's decisions on a pending proposal, applied: the state machine's verdicts stored,
 * logged and, for an approval, written to disk and put in force. Every decision is checked again
 * against the proposal as stored when it is written, under the store's lock: a second press, here
 * or in another process sharing the database, finds it decided.
 */

/** What writes a codex and puts it in force: a ratified amendment, an edit on the host. */
export interface CodexInForce {
  readonly codex: () => Codex;
  readonly codexPath: string;
  readonly dataDir: string;
  /** Puts a codex in force at once (the personas use it from the next turn). */
  readonly applyCodex: (codex: Codex) => void;
  readonly bus: EventBus;
  readonly clock: Clock;
  readonly log: Logger;
}

export interface DecisionDeps extends CodexInForce {
  readonly store: Pick<ProposalStore, 'get' | 'update' | 'versions' | 'completeApproval'>;
  /**
   * This process, named in the approvals it begins: another process starting meanwhile leaves an
   * approval under way alone (its codex write may yet land) while this process lives.
   */
  readonly owner: Pick<ProcessOwner, 'self' | 'claim'>;
}

/** The proposal if it is pending, or why not. */
export async function inspectProposal(deps: Pick<DecisionDeps, 'store'>, id: string): Promise<Decision> {
  return checkPending(id, await deps.store.get(id));
}

/**
 * Applies `event` to the proposal as stored now, if a decision may still be applied to it
 * (checked and written under the store's lock); the proposal changed, or why not.
 */
async function decide(
  deps: Pick<DecisionDeps, 'store'>,
  id: string,
  event: ProposalEvent,
  at: number,
): Promise<Decision> {
  const verdict = await inspectProposal(deps, id);
  if (!verdict.ok) return verdict;
  // Set again by the check under the lock, on the proposal as stored then.
  let now = verdict as Decision;
  const proposal = await deps.store.update(
    id,
    (stored) => {
      now = checkDecidable(id, stored);
      return now.ok ? transition(stored, event) : {};
    },
    at,
  );
  return now.ok ? { ok: true, proposal } : now;
}

/** An architect opened the history: they may approve from now on. */
export async function openHistory(
  deps: Pick<DecisionDeps, 'store' | 'clock'>,
  id: string,
  userId: string,
): Promise<Decision> {
  const verdict = await inspectProposal(deps, id);
  if (!verdict.ok) return verdict;
  const proposal = await deps.store.update(
    id,
    (p) => transition(p, { type: 'history_opened', userId }),
    deps.clock.now(),
  );
  return { ok: true, proposal };
}

export async function rejectProposal(
  deps: Pick<DecisionDeps, 'store' | 'clock' | 'log'>,
  id: string,
  userId: string,
): Promise<Decision> {
  const at = deps.clock.now();
  const rejected = await decide(deps, id, { type: 'rejected', userId, at }, at);
  if (rejected.ok)
    deps.log.info({ proposal: id, rejectedBy: userId }, 'amendment rejected; autonomy resumes');
  return rejected;
}

/**
 * Withdraws a pending proposal that can reach nobody: it is abandoned with `reason`, its evidence
 * counts as answered (no redraft loop), and autonomy resumes.
 */
export async function withdrawProposal(
  deps: Pick<DecisionDeps, 'store' | 'clock' | 'log'>,
  id: string,
  reason: string,
): Promise<Decision> {
  const withdrawn = await decide(deps, id, { type: 'abandoned', reason }, deps.clock.now());
  if (withdrawn.ok) deps.log.warn({ proposal: id, reason }, 'proposal withdrawn; autonomy resumes');
  return withdrawn;
}

/** Remembers where the proposal's message and history thread are. */
export function placeProposal(
  deps: Pick<DecisionDeps, 'store' | 'clock'>,
  id: string,
  where: Placement,
): Promise<Proposal> {
  return deps.store.update(id, (p) => transition(p, { type: 'placed', where }), deps.clock.now());
}

async function markStale(
  deps: Pick<DecisionDeps, 'store' | 'clock' | 'log'>,
  id: string,
  reason: string,
): Promise<GovernanceRefusal> {
  const at = deps.clock.now();
  const stale = await deps.store.update(id, (p) => transition(p, { type: 'went_stale', reason, at }), at);
  // Decided meanwhile (elsewhere): that decision stands, and is what the presser hears.
  const decided = checkDecidable(id, stale);
  if (stale.state !== 'stale' && !decided.ok) return decided;
  deps.log.warn({ proposal: id, reason }, 'stale proposal');
  return staleRefusal(stale, reason);
}

/**
 * Ratifies a pending proposal for someone who opened its history: the codex it was drafted
 * against must still be the one on disk, and the amended codex must still pass the checks (else it
 * is stale). The previous codex is archived, the new one written durably and put in force — unless
 * the file changed after it was read here (an edit on the host): that edit is kept, and the
 * proposal is stale. The caller runs one codex change at a time in this process.
 */
export async function approveProposal(deps: DecisionDeps, id: string, userId: string): Promise<Decision> {
  const verdict = checkDecidable(id, await deps.store.get(id));
  if (!verdict.ok) return verdict;
  const proposal = verdict.proposal;
  const unread = checkHistoryOpened(proposal, userId);
  if (unread) return unread;
  const onDisk = readFileSync(deps.codexPath, 'utf8');
  const current = deps.codex();
  const plan = planApproval({
    proposal,
    onDisk,
    current,
    recordedVersions: (await deps.store.versions()).map((v) => v.version),
    label: deps.codexPath,
  });
  if (!plan.ok) return markStale(deps, id, plan.stale);
  // Without its lock held, another process starting would undo this approval as a dead one's.
  if (!(await deps.owner.claim())) return noLockRefusal();
  const { version, text, codex, hash } = plan;
  const at = deps.clock.now();
  // Intent first, so a crash at any point below is finished or undone at the next start.
  const archivedPrevious = archiveCodex(deps.dataDir, current.data.version, onDisk);
  const intent = { version, hash, by: userId, at, archivedPrevious, owner: deps.owner.self };
  // Claimed under the store's lock: of two presses (here or in another process) one goes on.
  const claimed = await decide(deps, id, { type: 'approval_started', intent }, at);
  if (!claimed.ok) return claimed;
  if (!writeCodexUnlessChanged(deps.codexPath, text, sha256(onDisk))) {
    // The operator saved the codex after it was read here: their edit stays, this draft is stale.
    await deps.store.update(id, (p) => transition(p, { type: 'approval_undone' }), deps.clock.now());
    return markStale(deps, id, 'the codex was edited on the host while it was being approved');
  }
  const approved = await deps.store.completeApproval(id, versionRecord(id, intent));
  deps.applyCodex(codex);
  deps.log.info(
    { proposal: id, version, approvedBy: userId },
    'amendment ratified; the new codex is in force',
  );
  deps.bus.publish('codex_amended', { proposal: approved, version });
  return { ok: true, proposal: approved };
}
