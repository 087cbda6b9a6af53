import { createKeyedLock } from '../../shared/concurrency.ts';
import type { Clock } from '../clock.ts';
import type { Codex } from '../codex/loadCodex.ts';
import { type ProcessOwner, processOwner } from '../db/processOwner.ts';
import type { EventBus } from '../eventBus.ts';
import type { ModelFor } from '../llm/chatModel.ts';
import type { Logger } from '../logger.ts';
import type { StoredRecord } from '../memory/interactionLog.ts';
import {
  approveProposal,
  inspectProposal,
  openHistory,
  placeProposal,
  rejectProposal,
  withdrawProposal,
} from './amendmentDecisions.ts';
import { type DraftingDeps, draftAmendment } from './amendmentDrafting.ts';
import { type AmendmentSettings, DEFAULT_AMENDMENT_SETTINGS } from './amendmentSettings.ts';
import { evaluateDissonance, pausedReason, proposeAmendment, proposeRollback } from './amendmentTriggers.ts';
import { type EvidenceReaders, forgetEvidenceIn, NO_READERS } from './evidence.ts';
import { adoptHostEdit, type HostEdit } from './hostEdit.ts';
import type { Decision } from './proposalStateMachine.ts';
import type { CodexVersion, Proposal, ProposalStore } from './proposalStore.ts';
import { repairAfterRestart } from './repairAfterRestart.ts';

export { type AmendmentSettings, DEFAULT_AMENDMENT_SETTINGS } from './amendmentSettings.ts';
export type { EvidenceReaders } from './evidence.ts';
export type { HostEdit } from './hostEdit.ts';
export type { Decision, GovernanceRefusalCode } from './proposalStateMachine.ts';

/**
 * The philosophical loop (Constitutional AI): persistent dissonance → ALFRED drafts an
 * amendment to the codex → it is checked (parses, schema, core untouched, size) and stored with
 * its diff and legislative history → the architect approves or rejects. The system proposes;
 * only a person ratifies. While a proposal is drafted or pending, autonomy is paused.
 *
 * This file binds the loop's parts to their dependencies: what starts a proposal is in
 * `amendmentTriggers.ts`, the drafting and reviews in `amendmentDrafting.ts`, the proposal's
 * states and refusals in `proposalStateMachine.ts` (applied by `amendmentDecisions.ts`), an edit
 * on the host in `hostEdit.ts`, the repair at start in `repairAfterRestart.ts`; the prompts and
 * the reading of a draft are in `amendmentDraft.ts`, the evidence in `evidence.ts`, the file work
 * in `codexFile.ts`.
 */

export interface AmendmentDeps {
  store: ProposalStore;
  /** The interaction log, read for the evidence. */
  records: { between(from: number, to: number): StoredRecord[] | Promise<StoredRecord[]> };
  modelFor: ModelFor;
  /** A persona's system prompt (ALFRED drafts; BRICK and ROBIN review). */
  systemPrompt: (personaId: string) => string;
  codex: () => Codex;
  codexPath: string;
  dataDir: string;
  /** Puts a ratified codex in force at once (the personas use it from the next turn). */
  applyCodex: (codex: Codex) => void;
  bus: EventBus;
  clock: Clock;
  logger: Logger;
  settings?: Partial<AmendmentSettings>;
  /**
   * This process, named in the drafts and approvals it begins, and whether another's still lives
   * (`processOwner.ts`): a start repairs only a dead process's. Default: this process alone, as
   * with SQLite.
   */
  owner?: ProcessOwner;
  /**
   * Who may read what, for the channel a proposal is posted in (the bot knows; it may also tell
   * later, with `useReaders`). Until it is known, every dialogue's words are withheld.
   */
  readers?: EvidenceReaders;
}

export interface Amendments {
  /** Starts a draft when persistent dissonance calls for one; resolves with the proposal, if any. */
  evaluate(): Promise<Proposal | undefined>;
  /**
   * `/codex propose`: drafts now from the most dissonant recent dialogues, for the readers of the
   * governance channel (of `askedIn`, where it was asked, when there is none).
   */
  propose(requestedBy: string, note?: string, askedIn?: string): Promise<Decision>;
  /** `/codex rollback`: a proposal to restore an earlier version, through the same gate. */
  rollback(version: number, requestedBy: string): Promise<Decision>;
  /** An architect opened the history: they may approve from now on. */
  openHistory(id: string, userId: string): Promise<Decision>;
  approve(id: string, userId: string): Promise<Decision>;
  reject(id: string, userId: string): Promise<Decision>;
  /**
   * Withdraws a pending proposal that can reach nobody (no governance channel): it is abandoned
   * with `reason`, its evidence counts as answered (no redraft loop), and autonomy resumes.
   */
  withdraw(id: string, reason: string): Promise<Decision>;
  /**
   * The operator edited `codex.toml` on the host: the new text is checked like any codex (file,
   * line and key on a problem — the old codex then stays in force), recorded in the history as
   * "edited on the host" under the next version (the version line is set when the operator did
   * not raise it), and put in force. A proposal drafted against the old text goes stale.
   */
  adoptHostEdit(text: string): Promise<HostEdit>;
  /** Remembers where the proposal's message and history thread are. */
  placed(
    id: string,
    where: { channelId?: string; messageId?: string; threadId?: string; historyPosted?: boolean },
  ): Promise<Proposal>;
  /** The proposal if it is pending, or why not. */
  inspect(id: string): Promise<Decision>;
  /** Why autonomy is paused, or null. */
  pausedReason(): Promise<string | null>;
  get(id: string): Promise<Proposal | undefined>;
  /** The proposal being drafted or awaiting a decision, if any. */
  active(): Promise<Proposal | undefined>;
  /** Proposals, newest first. */
  list(limit?: number): Promise<Proposal[]>;
  /** Every codex version and who ratified it, oldest first. */
  versions(): Promise<CodexVersion[]>;
  /**
   * Who may read what, from now on: the bot tells once it knows its channels. Each proposal
   * stores what its readers could read when it was drafted.
   */
  useReaders(readers: EvidenceReaders): void;
  /**
   * Forgetting dialogues (`/memory forget`): their words leave every proposal's evidence (which
   * keeps that they existed, marked forgotten) and any run of them is cut from what the
   * proposal says. Returns the ids of the proposals changed.
   */
  forgetEvidence(recordIds: readonly string[]): Promise<string[]>;
  /** Stops a draft in progress (it is abandoned) and waits for it. */
  close(): Promise<void>;
}

/** Binds the loop's parts to `deps`; repairs what a restart cut short before anything else. */
export async function createAmendments(deps: AmendmentDeps): Promise<Amendments> {
  const settings = { ...DEFAULT_AMENDMENT_SETTINGS, ...deps.settings };
  const { store } = deps;
  let readers = deps.readers ?? NO_READERS;
  const parts = {
    ...deps,
    settings,
    log: deps.logger.child({ module: 'amendments' }),
    readers: () => readers,
    owner: deps.owner ?? processOwner(),
  };

  await repairAfterRestart(parts);
  // One change of the codex at a time in this process (an approval, an edit on the host): each
  // reads the file, checks, then writes it. Another process's meets the store's lock and the
  // file's hash.
  const codexChanges = createKeyedLock();
  const oneAtATime = <T>(work: () => Promise<T>) => codexChanges.run('codex', work);

  // Drafts in progress, so `close` can stop them and wait until each is abandoned.
  const closing = new AbortController();
  const drafts = new Set<Promise<unknown>>();
  const tracked = <T>(promise: Promise<T>): Promise<T> => {
    drafts.add(promise);
    void promise.finally(() => drafts.delete(promise)).catch(() => undefined);
    return promise;
  };
  const drafting: DraftingDeps = { ...parts, signal: closing.signal };
  const triggers = {
    ...parts,
    draft: (proposal: Proposal, evidence: StoredRecord[], note?: string) =>
      tracked(draftAmendment(drafting, proposal, evidence, note)),
  };

  return {
    get: (id) => store.get(id),
    inspect: (id) => inspectProposal(parts, id),
    active: () => store.active(),
    list: (limit) => store.list(limit),
    versions: () => store.versions(),
    pausedReason: () => pausedReason(store),
    evaluate: async () => evaluateDissonance(triggers),
    propose: async (requestedBy, note, askedIn) => proposeAmendment(triggers, requestedBy, note, askedIn),
    rollback: (version, requestedBy) => proposeRollback(parts, version, requestedBy),
    openHistory: (id, userId) => openHistory(parts, id, userId),
    approve: (id, userId) => oneAtATime(() => approveProposal(parts, id, userId)),
    reject: (id, userId) => rejectProposal(parts, id, userId),
    withdraw: (id, reason) => withdrawProposal(parts, id, reason),
    placed: (id, where) => placeProposal(parts, id, where),
    adoptHostEdit: (text) => oneAtATime(() => adoptHostEdit(parts, text)),
    useReaders: (next) => {
      readers = next;
    },
    forgetEvidence: (recordIds) => forgetEvidence(parts, recordIds),
    async close() {
      closing.abort(new Error('shutting down'));
      await Promise.allSettled([...drafts]);
    },
  };
}

/** Removes forgotten dialogues' words from every proposal that cites them; the ids of those changed. */
async function forgetEvidence(
  deps: Pick<AmendmentDeps, 'store' | 'clock'> & { log: Logger },
  recordIds: readonly string[],
): Promise<string[]> {
  const ids = new Set(recordIds);
  if (ids.size === 0) return [];
  const changed: string[] = [];
  for (const cited of await deps.store.citing(ids)) {
    if (!forgetEvidenceIn(cited, ids)) continue;
    // Cut from the proposal as stored now: a change made meanwhile elsewhere is kept.
    await deps.store.update(cited.id, (proposal) => forgetEvidenceIn(proposal, ids) ?? {}, deps.clock.now());
    changed.push(cited.id);
  }
  if (changed.length)
    deps.log.info({ proposals: changed }, 'forgotten dialogues removed from proposal evidence');
  return changed;
}
