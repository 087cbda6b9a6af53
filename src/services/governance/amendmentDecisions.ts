import { readFileSync } from 'node:fs';
import { sha256 } from '../../shared/hash.ts';
import type { Clock } from '../clock.ts';
import type { Codex } from '../codex/loadCodex.ts';
import type { EventBus } from '../eventBus.ts';
import type { Logger } from '../logger.ts';
import { archiveCodex, writeCodexUnlessChanged } from './codexFile.ts';
import {
  checkHistoryOpened,
  checkPending,
  type Decision,
  type GovernanceRefusal,
  type Placement,
  planApproval,
  staleRefusal,
  transition,
  versionRecord,
} from './proposalStateMachine.ts';
import type { Proposal, ProposalStore } from './proposalStore.ts';

/**
 * The architect's decisions on a pending proposal, applied: the state machine's verdicts stored,
 * logged and, for an approval, written to disk and put in force. Every decision reads the stored
 * proposal first; a second press finds it decided.
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
}

/** The proposal if it is pending, or why not. */
export function inspectProposal(deps: Pick<DecisionDeps, 'store'>, id: string): Decision {
  return checkPending(id, deps.store.get(id));
}

/** An architect opened the history: they may approve from now on. */
export function openHistory(
  deps: Pick<DecisionDeps, 'store' | 'clock'>,
  id: string,
  userId: string,
): Decision {
  const verdict = inspectProposal(deps, id);
  if (!verdict.ok) return verdict;
  const proposal = deps.store.update(
    id,
    (p) => transition(p, { type: 'history_opened', userId }),
    deps.clock.now(),
  );
  return { ok: true, proposal };
}

export function rejectProposal(
  deps: Pick<DecisionDeps, 'store' | 'clock' | 'log'>,
  id: string,
  userId: string,
): Decision {
  const verdict = inspectProposal(deps, id);
  if (!verdict.ok) return verdict;
  const at = deps.clock.now();
  const rejected = deps.store.update(id, (p) => transition(p, { type: 'rejected', userId, at }), at);
  deps.log.info({ proposal: id, rejectedBy: userId }, 'amendment rejected; autonomy resumes');
  return { ok: true, proposal: rejected };
}

/**
 * Withdraws a pending proposal that can reach nobody: it is abandoned with `reason`, its evidence
 * counts as answered (no redraft loop), and autonomy resumes.
 */
export function withdrawProposal(
  deps: Pick<DecisionDeps, 'store' | 'clock' | 'log'>,
  id: string,
  reason: string,
): Decision {
  const verdict = inspectProposal(deps, id);
  if (!verdict.ok) return verdict;
  const withdrawn = deps.store.update(
    id,
    (p) => transition(p, { type: 'abandoned', reason }),
    deps.clock.now(),
  );
  deps.log.warn({ proposal: id, reason }, 'proposal withdrawn; autonomy resumes');
  return { ok: true, proposal: withdrawn };
}

/** Remembers where the proposal's message and history thread are. */
export function placeProposal(
  deps: Pick<DecisionDeps, 'store' | 'clock'>,
  id: string,
  where: Placement,
): Proposal {
  return deps.store.update(id, (p) => transition(p, { type: 'placed', where }), deps.clock.now());
}

function markStale(
  deps: Pick<DecisionDeps, 'store' | 'clock' | 'log'>,
  id: string,
  reason: string,
): GovernanceRefusal {
  const at = deps.clock.now();
  const stale = deps.store.update(id, (p) => transition(p, { type: 'went_stale', reason, at }), at);
  deps.log.warn({ proposal: id, reason }, 'stale proposal');
  return staleRefusal(stale, reason);
}

/**
 * Ratifies a pending proposal for someone who opened its history: the codex it was drafted
 * against must still be the one on disk, and the amended codex must still pass the checks (else it
 * is stale). The previous codex is archived, the new one written durably and put in force — unless
 * the file changed after it was read here (an edit on the host): that edit is kept, and the
 * proposal is stale.
 */
export function approveProposal(deps: DecisionDeps, id: string, userId: string): Decision {
  const verdict = inspectProposal(deps, id);
  if (!verdict.ok) return verdict;
  const proposal = verdict.proposal;
  const unread = checkHistoryOpened(proposal, userId);
  if (unread) return unread;
  // From the check to the write nothing awaits: a second press finds the decision made.
  const onDisk = readFileSync(deps.codexPath, 'utf8');
  const current = deps.codex();
  const plan = planApproval({
    proposal,
    onDisk,
    current,
    recordedVersions: deps.store.versions().map((v) => v.version),
    label: deps.codexPath,
  });
  if (!plan.ok) return markStale(deps, id, plan.stale);
  const { version, text, codex, hash } = plan;
  const at = deps.clock.now();
  // Intent first, so a crash at any point below is finished or undone at the next start.
  const archivedPrevious = archiveCodex(deps.dataDir, current.data.version, onDisk);
  const intent = { version, hash, by: userId, at, archivedPrevious };
  deps.store.update(id, (p) => transition(p, { type: 'approval_started', intent }), at);
  if (!writeCodexUnlessChanged(deps.codexPath, text, sha256(onDisk))) {
    // The operator saved the codex after it was read here: their edit stays, this draft is stale.
    deps.store.update(id, (p) => transition(p, { type: 'approval_undone' }), deps.clock.now());
    return markStale(deps, id, 'the codex was edited on the host while it was being approved');
  }
  const approved = deps.store.completeApproval(id, versionRecord(id, intent));
  deps.applyCodex(codex);
  deps.log.info(
    { proposal: id, version, approvedBy: userId },
    'amendment ratified; the new codex is in force',
  );
  deps.bus.publish('codex_amended', { proposal: approved, version });
  return { ok: true, proposal: approved };
}
