import { sha256 } from '../../shared/hash.ts';
import type { Codex } from '../codex/loadCodex.ts';
import type { Refusal } from '../errors.ts';
import type { Draft } from './amendmentDraft.ts';
import { checkAmendedCodex, codexDiff } from './codexFile.ts';
import type { CodexVersion, HistoryEntry, Proposal } from './proposalStore.ts';

/**
 * A proposal's life, as pure functions of the proposal as stored and what happened. A proposal
 * starts `drafting`; ALFRED's draft (or, for a rollback, the archived text) makes it `pending`;
 * the architect then approves or rejects it, the codex moving under it makes it `stale`, and one
 * that nobody can reach is withdrawn (`abandoned`, like a draft that failed or that a restart cut
 * short). Each function returns the change to store, or why the action is refused; the store, the
 * disk, the bus and the logs are the callers' (`amendmentDecisions.ts` and its neighbours).
 */

/** Why a governance action was refused; stable, for tests and for the bot's wording. */
export type GovernanceRefusalCode =
  /** There is no proposal with that id. */
  | 'NO_SUCH_PROPOSAL'
  /** It is no longer pending (approved, rejected, stale or abandoned). */
  | 'ALREADY_DECIDED'
  /** Approve was pressed by someone who has not opened the history. */
  | 'HISTORY_NOT_OPENED'
  /** The codex changed since the draft, or the draft no longer validates. */
  | 'STALE'
  /** Another proposal is being drafted or awaits a decision. */
  | 'BUSY'
  /** No dialogues in the window and no note to draft from. */
  | 'NOTHING_TO_DRAFT'
  /** A rollback to the version in force. */
  | 'CURRENT_VERSION'
  /** A rollback to a version that was never archived. */
  | 'NOT_ARCHIVED'
  /** A rollback to a version that would not pass today's checks. */
  | 'CANNOT_RESTORE'
  /**
   * The database did not give this process the lock that shows the others it lives
   * (`processOwner.ts`): without it another process starting would take its draft or its
   * approval for a dead one's.
   */
  | 'NO_LOCK';

export type Decision =
  | { ok: true; proposal: Proposal }
  | (Refusal<GovernanceRefusalCode> & { proposal?: Proposal | undefined });

export type GovernanceRefusal = Decision & { ok: false };

export const refuse = (
  code: GovernanceRefusalCode,
  reason: string,
  proposal?: Proposal,
): GovernanceRefusal => ({
  ok: false,
  code,
  reason,
  ...(proposal ? { proposal } : {}),
});

/** Why nothing was begun when this process could not hold the lock that shows it lives. */
export const noLockRefusal = (): GovernanceRefusal =>
  refuse(
    'NO_LOCK',
    'The database did not give this process the lock a proposal is drafted or approved under: nothing was done. Try again in a moment.',
  );

/** An approval in progress, recorded before the codex is written. */
export type ApprovalIntent = NonNullable<Proposal['approving']>;

/** Where a proposal's message and history thread are in Discord. */
export interface Placement {
  channelId?: string;
  messageId?: string;
  threadId?: string;
  historyPosted?: boolean;
}

/** What a new proposal starts as: `drafting`, against the codex in force, nothing drafted yet. */
export function newProposalRecord(
  fields: Partial<Proposal> & Pick<Proposal, 'kind' | 'requestedBy'>,
  base: { id: string; codex: Codex; at: number },
): Proposal {
  return {
    id: base.id,
    state: 'drafting',
    title: '',
    principles: [],
    rationale: '',
    consequences: '',
    baseHash: base.codex.hash,
    baseVersion: base.codex.data.version,
    newCodex: '',
    diff: '',
    history: [],
    evidence: [],
    createdAt: base.at,
    updatedAt: base.at,
    openedBy: [],
    ...fields,
  };
}

/** Why autonomy is paused while `proposal` is being drafted or awaits a decision. */
export function activeReason(proposal: Proposal): string {
  return proposal.state === 'drafting'
    ? `proposal ${proposal.id} is being drafted`
    : `proposal ${proposal.id} (${proposal.title || proposal.kind}) awaits the architect's decision`;
}

/** The proposal if it awaits a decision, or why not. */
export function checkPending(id: string, proposal: Proposal | undefined): Decision {
  if (!proposal) return refuse('NO_SUCH_PROPOSAL', `There is no proposal ${id}.`);
  if (proposal.state !== 'pending') {
    const why = proposal.reason ? `: ${proposal.reason}` : '';
    return refuse('ALREADY_DECIDED', `Proposal ${id} is already ${proposal.state}${why}.`, proposal);
  }
  return { ok: true, proposal };
}

/**
 * The proposal if a decision may be applied to it now: it awaits one, and no approval of it is
 * under way (a second press, here or in another process, finds the first one's).
 */
export function checkDecidable(id: string, proposal: Proposal | undefined): Decision {
  const verdict = checkPending(id, proposal);
  if (verdict.ok && verdict.proposal.approving)
    return refuse('ALREADY_DECIDED', `Proposal ${id} is already being approved.`, verdict.proposal);
  return verdict;
}

/** Why a new proposal is refused while `active` is drafted or pending. */
export const busyRefusal = (active: Proposal): GovernanceRefusal =>
  refuse('BUSY', `Not now: ${activeReason(active)}.`, active);

/** One proposal at a time: a new one is refused while `active` is drafted or pending. */
export function checkNotBusy(active: Proposal | undefined): GovernanceRefusal | undefined {
  return active ? busyRefusal(active) : undefined;
}

/** `/codex propose` needs dialogues to draft from, or the architect's note. */
export function checkSomethingToDraft(evidence: number, note?: string): GovernanceRefusal | undefined {
  return evidence === 0 && !note
    ? refuse('NOTHING_TO_DRAFT', 'There are no dialogues in the window and no note to draft from.')
    : undefined;
}

/** Only someone who has opened the history may approve. */
export function checkHistoryOpened(proposal: Proposal, userId: string): GovernanceRefusal | undefined {
  return proposal.openedBy.includes(userId)
    ? undefined
    : refuse(
        'HISTORY_NOT_OPENED',
        'Open the history first: an amendment is approved only by someone who has read how it came about.',
        proposal,
      );
}

/** The refusal that goes with a proposal that has just been marked stale. */
export const staleRefusal = (stale: Proposal, reason: string): GovernanceRefusal =>
  refuse('STALE', `Proposal ${stale.id} is stale: ${reason}.`, stale);

/** What happened to a proposal; `transition` turns each into the change to store. */
export type ProposalEvent =
  /** ALFRED's draft passed its checks and was reviewed: drafting → pending. */
  | { type: 'drafted'; draft: Draft; diff: string; history: HistoryEntry[] }
  /** A rollback's archived text passed today's checks: drafting → pending. */
  | { type: 'restorable'; version: number; current: Codex; text: string; at: number }
  /** Every draft was refused, drafting failed, or nobody could be reached: → abandoned. */
  | { type: 'abandoned'; reason: string; history?: HistoryEntry[] }
  /** The bot restarted mid-draft: → abandoned, its evidence still unanswered. */
  | { type: 'interrupted' }
  /** An architect opened the history: they may approve from now on. */
  | { type: 'history_opened'; userId: string }
  | { type: 'rejected'; userId: string; at: number }
  /** The codex moved under it, or it no longer validates: → stale. */
  | { type: 'went_stale'; reason: string; at: number }
  /** An approval's intent, recorded before the codex is written. */
  | { type: 'approval_started'; intent: ApprovalIntent }
  /** A restart found the approval's codex never written: pending again. */
  | { type: 'approval_undone' }
  | { type: 'placed'; where: Placement };

/**
 * The change an event makes to a proposal. The approval itself (→ approved, with the new version
 * recorded in the same transaction) is the store's `completeApproval`, given `versionRecord`.
 * A draft finishes only a proposal still drafting, and only an undecided one is abandoned: a
 * proposal that went stale while ALFRED drafted (the codex edited on the host) stays stale. Once
 * an approval is under way nothing else decides it (it is finished or undone first); each event
 * applies to the proposal as stored now, so a decision made meanwhile elsewhere is kept.
 */
export function transition(proposal: Proposal, event: ProposalEvent): Partial<Proposal> {
  const drafting = proposal.state === 'drafting';
  const undecided = (drafting || proposal.state === 'pending') && !proposal.approving;
  if ((event.type === 'drafted' || event.type === 'restorable' || event.type === 'interrupted') && !drafting)
    return {};
  if (event.type === 'abandoned' && !drafting && proposal.state !== 'pending') return {};
  if (event.type === 'went_stale' && !undecided) return {};
  if ((event.type === 'rejected' || event.type === 'approval_started') && (drafting || !undecided)) return {};
  switch (event.type) {
    case 'drafted':
      return {
        state: 'pending',
        title: event.draft.title,
        principles: event.draft.principles,
        rationale: event.draft.rationale,
        consequences: event.draft.consequences,
        newCodex: event.draft.codex,
        diff: event.diff,
        history: event.history,
      };
    case 'restorable':
      return restorableChange(event);
    case 'abandoned':
      return {
        state: 'abandoned',
        reason: event.reason,
        ...(event.history ? { history: event.history } : {}),
      };
    case 'interrupted':
      return {
        state: 'abandoned',
        reason: 'the bot restarted while it was being drafted',
        interrupted: true,
      };
    case 'history_opened':
      return { openedBy: [...new Set([...proposal.openedBy, event.userId])] };
    case 'rejected':
      return { state: 'rejected', decidedBy: event.userId, decidedAt: event.at };
    case 'went_stale':
      return { state: 'stale', reason: event.reason, decidedAt: event.at };
    case 'approval_started':
      return { approving: event.intent };
    case 'approval_undone':
      return { approving: undefined };
    case 'placed':
      return event.where;
  }
}

function restorableChange(event: Extract<ProposalEvent, { type: 'restorable' }>): Partial<Proposal> {
  const { version, current, text, at } = event;
  const inForce = current.data.version;
  return {
    state: 'pending',
    title: `Roll the codex back to version ${version}`,
    principles: [`Every principle and prompt as they were in version ${version}`],
    rationale: `An architect asked to restore version ${version}.`,
    consequences: `The personas behave as they did under version ${version}; the current version ${inForce} stays archived.`,
    newCodex: text,
    diff: codexDiff(current.source, text, `v${inForce}`, `v${version}`),
    history: [
      {
        kind: 'note',
        title: 'A rollback',
        text: `An architect asked to restore codex version ${version}. It becomes version ${inForce + 1}; the history stays whole.`,
        at,
      },
    ],
  };
}

/** The codex version an approval records, from its intent. */
export function versionRecord(
  proposalId: string,
  intent: ApprovalIntent,
): CodexVersion & { proposalId: string; approvedBy: string } {
  return {
    version: intent.version,
    hash: intent.hash,
    proposalId,
    approvedBy: intent.by,
    at: intent.at,
    ...(intent.archivedPrevious ? { archivedPrevious: intent.archivedPrevious } : {}),
  };
}

/** An approval that may go ahead (the codex to write, as checked), or why the proposal is stale. */
export type ApprovalPlan =
  | { ok: true; version: number; text: string; codex: Codex; hash: string }
  | { ok: false; stale: string };

/**
 * Whether a pending proposal may still be applied: the codex on disk is the one it was drafted
 * against, its version is not recorded yet, and the amended codex passes the checks as it will be
 * written (`label` names it in a problem).
 */
export function planApproval(input: {
  proposal: Proposal;
  onDisk: string;
  current: Codex;
  recordedVersions: readonly number[];
  label: string;
}): ApprovalPlan {
  const { proposal, current } = input;
  if (sha256(input.onDisk) !== proposal.baseHash) {
    return {
      ok: false,
      stale: `the codex changed after this was drafted (drafted against version ${proposal.baseVersion}, now version ${current.data.version})`,
    };
  }
  const version = current.data.version + 1;
  if (input.recordedVersions.includes(version)) {
    return {
      ok: false,
      stale: `version ${version} is already recorded; the codex history must not be overwritten`,
    };
  }
  // Checked again as it will be written: a codex that would not load is never written.
  const checked = checkAmendedCodex(current, proposal.newCodex, input.label, version);
  if (!checked.ok)
    return { ok: false, stale: `the amended codex no longer validates: ${checked.problems.join('; ')}` };
  const { text, codex } = checked.checked;
  return { ok: true, version, text, codex, hash: sha256(text) };
}

/**
 * Whether `version` may be offered as a rollback: not the version in force, archived (`archived`
 * reads the archive, `known` lists the recorded versions for the refusal), and still passing
 * today's checks (schema, core). Returns the archived text.
 */
export function planRollback(
  version: number,
  sources: {
    current: Codex;
    archived: (version: number) => string | undefined;
    known: () => readonly number[];
  },
): { ok: true; text: string } | GovernanceRefusal {
  const { current } = sources;
  if (version === current.data.version)
    return refuse('CURRENT_VERSION', `Version ${version} is the current codex.`);
  const text = sources.archived(version);
  if (!text) {
    return refuse(
      'NOT_ARCHIVED',
      `Version ${version} is not archived (known versions: ${sources.known().join(', ')}).`,
    );
  }
  const checked = checkAmendedCodex(current, text, `codex-v${version}.toml`, current.data.version + 1);
  if (!checked.ok) {
    return refuse('CANNOT_RESTORE', `Version ${version} cannot be restored: ${checked.problems.join('; ')}`);
  }
  return { ok: true, text };
}

/**
 * What a restart does with an approval it cut short between its intent and its completion:
 * finishes it when the new codex reached the disk, else undoes it (the proposal is pending again).
 */
export function resumeApproval(intent: ApprovalIntent, onDisk: string): 'complete' | 'undo' {
  return sha256(onDisk) === intent.hash ? 'complete' : 'undo';
}
