import type { Clock } from '../clock.ts';
import type { Codex } from '../codex/loadCodex.ts';
import type { ProcessOwner } from '../db/processOwner.ts';
import type { EventBus } from '../eventBus.ts';
import type { Logger } from '../logger.ts';
import type { StoredRecord } from '../memory/interactionLog.ts';
import type { AmendmentSettings } from './amendmentSettings.ts';
import { archivedCodex } from './codexFile.ts';
import { type EvidenceReaders, mostDissonant, unansweredDissonance } from './evidence.ts';
import {
  activeReason,
  busyRefusal,
  checkNotBusy,
  checkSomethingToDraft,
  type Decision,
  newProposalRecord,
  noLockRefusal,
  planRollback,
  transition,
} from './proposalStateMachine.ts';
import type { Proposal, ProposalStore, Started } from './proposalStore.ts';

/**
 * What starts a proposal: persistent dissonance (the trigger), `/codex propose` and
 * `/codex rollback`; and the pause of autonomy while one is drafted or pending. There is at most
 * one such proposal: the store creates one only where none is active, under its lock, so a second
 * trigger (here or in another process) sees the first and stands down.
 */

export interface TriggerDeps {
  readonly store: Pick<ProposalStore, 'active' | 'answered' | 'createUnlessActive'>;
  /** The interaction log, read for the evidence. */
  readonly records: { between(from: number, to: number): StoredRecord[] | Promise<StoredRecord[]> };
  readonly codex: () => Codex;
  readonly clock: Clock;
  readonly log: Logger;
  readonly settings: Pick<AmendmentSettings, 'minEvents' | 'minMembers' | 'windowMs' | 'highDissonance'>;
  /** Where a proposal will be posted: its evidence is judged for that channel's readers. */
  readonly readers: () => Pick<EvidenceReaders, 'channelFor'>;
  /** This process, named in the proposals it begins: another process starting leaves its draft alone. */
  readonly owner: Pick<ProcessOwner, 'self' | 'claim'>;
  /** Drafts a proposal just created (ALFRED, the checks, the reviews); resolves when it is decided. */
  readonly draft: (proposal: Proposal, evidence: StoredRecord[], note?: string) => Promise<Proposal>;
}

/** Why autonomy is paused (a proposal is drafted or pending), or null. */
export async function pausedReason(store: Pick<ProposalStore, 'active'>): Promise<string | null> {
  const active = await store.active();
  return active ? activeReason(active) : null;
}

const inWindow = async (deps: Pick<TriggerDeps, 'records' | 'clock' | 'settings'>) =>
  deps.records.between(deps.clock.now() - deps.settings.windowMs, deps.clock.now() + 1);

/** Dissonant dialogues in the window that no proposal has answered, oldest first. */
export async function dissonantEvidence(
  deps: Pick<TriggerDeps, 'store' | 'records' | 'clock' | 'settings'>,
): Promise<StoredRecord[]> {
  return unansweredDissonance(
    await inWindow(deps),
    await deps.store.answered(),
    deps.settings.highDissonance,
  );
}

/** How many different members asked these dialogues; those with none count as one more (the operator). */
export function membersBehind(records: readonly StoredRecord[]): number {
  return new Set(records.map((r) => r.userId ?? '')).size;
}

/**
 * Whether the evidence calls for a draft: enough dissonant dialogues, from enough different
 * members that no one member can start an amendment alone.
 */
export function isPersistent(
  evidence: readonly StoredRecord[],
  settings: Pick<AmendmentSettings, 'minEvents' | 'minMembers'>,
): boolean {
  const members = Math.min(settings.minMembers, settings.minEvents);
  return evidence.length >= settings.minEvents && membersBehind(evidence) >= members;
}

/**
 * Stores a new proposal, `drafting`, against the codex in force and owned by this process —
 * unless one is drafted or pending already (then that one is returned as `active`).
 */
export function startProposal(
  deps: {
    readonly store: Pick<ProposalStore, 'createUnlessActive'>;
    readonly codex: () => Codex;
    readonly clock: Clock;
    readonly owner: Pick<ProcessOwner, 'self'>;
  },
  fields: Partial<Proposal> & Pick<Proposal, 'kind' | 'requestedBy'>,
): Promise<Started> {
  const codex = deps.codex();
  const at = deps.clock.now();
  const owned = { ...fields, owner: deps.owner.self };
  return deps.store.createUnlessActive((id) => newProposalRecord(owned, { id, codex, at }));
}

/**
 * Why no proposal may begin here: this process could not hold the lock that shows the others it
 * lives (a draft without it would be abandoned by the next process to start).
 */
async function unclaimed(deps: { readonly owner: Pick<ProcessOwner, 'claim'> }) {
  return (await deps.owner.claim()) ? undefined : noLockRefusal();
}

/** The readers a new proposal is drafted for: those of the channel it will be posted in, if any. */
function draftedFor(deps: Pick<TriggerDeps, 'readers'>, askedIn?: string): Pick<Proposal, 'draftedFor'> {
  const channelId = deps.readers().channelFor(askedIn);
  return channelId === undefined ? {} : { draftedFor: channelId };
}

/** Starts a draft when persistent dissonance calls for one; resolves with the proposal, if any. */
export async function evaluateDissonance(deps: TriggerDeps): Promise<Proposal | undefined> {
  if (await deps.store.active()) return undefined;
  const evidence = await dissonantEvidence(deps);
  if (!isPersistent(evidence, deps.settings)) return undefined;
  const refused = await unclaimed(deps);
  if (refused) {
    deps.log.warn({ evidence: evidence.length }, `persistent dissonance, but no draft: ${refused.reason}`);
    return undefined;
  }
  // Created only where none is active: a second trigger sees it and stands down.
  const started = await startProposal(deps, {
    kind: 'amendment',
    requestedBy: 'system',
    evidence: evidence.map((r) => r.id),
    ...draftedFor(deps),
  });
  if (!started.ok) return undefined;
  const { proposal } = started;
  deps.log.info(
    { proposal: proposal.id, evidence: evidence.length },
    'persistent dissonance: drafting an amendment',
  );
  return deps.draft(proposal, evidence);
}

/**
 * `/codex propose`: drafts now from the most dissonant recent dialogues, for the readers of the
 * governance channel (or of `askedIn`, where it was asked, when there is none).
 */
export async function proposeAmendment(
  deps: TriggerDeps,
  requestedBy: string,
  note?: string,
  askedIn?: string,
): Promise<Decision> {
  const refused = checkNotBusy(await deps.store.active());
  if (refused) return refused;
  let evidence = await dissonantEvidence(deps);
  // Nothing above the high level: the most dissonant recent dialogues still inform the draft.
  if (evidence.length === 0) evidence = mostDissonant(await inWindow(deps), 5);
  const nothing = checkSomethingToDraft(evidence.length, note) ?? (await unclaimed(deps));
  if (nothing) return nothing;
  const started = await startProposal(deps, {
    kind: 'amendment',
    requestedBy,
    evidence: evidence.map((r) => r.id),
    ...draftedFor(deps, askedIn),
  });
  if (!started.ok) return busyRefusal(started.active);
  return { ok: true, proposal: await deps.draft(started.proposal, evidence, note) };
}

export interface RollbackDeps {
  readonly store: Pick<ProposalStore, 'active' | 'createUnlessActive' | 'update' | 'versions'>;
  readonly codex: () => Codex;
  readonly dataDir: string;
  readonly bus: EventBus;
  readonly clock: Clock;
  /** This process, named in the proposals it begins. */
  readonly owner: Pick<ProcessOwner, 'self' | 'claim'>;
}

/** `/codex rollback`: a proposal to restore an earlier version, through the same gate. */
export async function proposeRollback(
  deps: RollbackDeps,
  version: number,
  requestedBy: string,
): Promise<Decision> {
  const refused = checkNotBusy(await deps.store.active());
  if (refused) return refused;
  const current = deps.codex();
  const known = (await deps.store.versions()).map((v) => v.version);
  // An old version must still pass today's checks (schema, core) before it is offered.
  const plan = planRollback(version, {
    current,
    archived: (v) => archivedCodex(deps.dataDir, v),
    known: () => known,
  });
  if (!plan.ok) return plan;
  const unowned = await unclaimed(deps);
  if (unowned) return unowned;
  const started = await startProposal(deps, { kind: 'rollback', requestedBy, rollbackTo: version });
  if (!started.ok) return busyRefusal(started.active);
  const at = deps.clock.now();
  const ready = await deps.store.update(
    started.proposal.id,
    (p) => transition(p, { type: 'restorable', version, current, text: plan.text, at }),
    at,
  );
  deps.bus.publish('proposal_ready', { proposal: ready });
  return { ok: true, proposal: ready };
}
