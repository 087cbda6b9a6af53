import { readFileSync } from 'node:fs';
import { sha256 } from '../../shared/hash.ts';
import type { Clock } from '../clock.ts';
import { type Codex, CodexError, parseCodex } from '../codex/loadCodex.ts';
import type { Refusal } from '../errors.ts';
import type { EventBus } from '../eventBus.ts';
import type { ModelFor } from '../llm/chatModel.ts';
import type { Logger } from '../logger.ts';
import type { StoredRecord } from '../memory/interactionLog.ts';
import { type Draft, draftPrompt, parseDraft, REVIEWERS, reviewPrompt } from './amendmentDraft.ts';
import {
  archiveCodex,
  archivedCodex,
  checkAmendedCodex,
  codexDiff,
  withVersionLine,
  writeCodex,
} from './codexFile.ts';
import { evidenceEntry, mostDissonant, unansweredDissonance } from './evidence.ts';
import type { CodexVersion, HistoryEntry, Proposal, ProposalStore } from './proposalStore.ts';

/**
 * The philosophical loop (Constitutional AI): persistent dissonance → ALFRED drafts an
 * amendment to the codex → it is checked (parses, schema, core untouched, size) and stored with
 * its diff and legislative history → the architect approves or rejects. The system proposes;
 * only a person ratifies. While a proposal is drafted or pending, autonomy is paused.
 *
 * This file is the state machine; the prompts and the reading of a draft are in
 * `amendmentDraft.ts`, the evidence in `evidence.ts`, the file work in `codexFile.ts`.
 */

export interface AmendmentSettings {
  /** Dialogues above `highDissonance` within the window that trigger a proposal (default 3). */
  minEvents: number;
  /** The window, in milliseconds (default 24 h). */
  windowMs: number;
  highDissonance: number;
  /** Drafts ALFRED may make before the attempt is abandoned (default 3). */
  maxAttempts: number;
}

export const DEFAULT_AMENDMENT_SETTINGS: AmendmentSettings = {
  minEvents: 3,
  windowMs: 24 * 60 * 60 * 1000,
  highDissonance: 0.8,
  maxAttempts: 3,
};

export interface AmendmentDeps {
  store: ProposalStore;
  /** The interaction log, read for the evidence. */
  records: { between(from: number, to: number): StoredRecord[] };
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
}

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
  | 'CANNOT_RESTORE';

export type Decision =
  | { ok: true; proposal: Proposal }
  | (Refusal<GovernanceRefusalCode> & { proposal?: Proposal | undefined });

export interface Amendments {
  /** Starts a draft when persistent dissonance calls for one; resolves with the proposal, if any. */
  evaluate(): Promise<Proposal | undefined>;
  /** `/codex propose`: drafts now from the most dissonant recent dialogues. */
  propose(requestedBy: string, note?: string): Promise<Decision>;
  /** `/codex rollback`: a proposal to restore an earlier version, through the same gate. */
  rollback(version: number, requestedBy: string): Decision;
  /** An architect opened the history: they may approve from now on. */
  openHistory(id: string, userId: string): Decision;
  approve(id: string, userId: string): Promise<Decision>;
  reject(id: string, userId: string): Decision;
  /**
   * Withdraws a pending proposal that can reach nobody (no governance channel): it is abandoned
   * with `reason`, its evidence counts as answered (no redraft loop), and autonomy resumes.
   */
  withdraw(id: string, reason: string): Decision;
  /**
   * The operator edited `codex.toml` on the host: the new text is checked like any codex (file,
   * line and key on a problem — the old codex then stays in force), recorded in the history as
   * "edited on the host" under the next version (the version line is set when the operator did
   * not raise it), and put in force. A proposal drafted against the old text goes stale.
   */
  adoptHostEdit(text: string): HostEdit;
  /** Remembers where the proposal's message and history thread are. */
  placed(
    id: string,
    where: { channelId?: string; messageId?: string; threadId?: string; historyPosted?: boolean },
  ): Proposal;
  /** The proposal if it is pending, or why not. */
  inspect(id: string): Decision;
  /** Why autonomy is paused, or null. */
  pausedReason(): string | null;
  get(id: string): Proposal | undefined;
  /** The proposal being drafted or awaiting a decision, if any. */
  active(): Proposal | undefined;
  /** Proposals, newest first. */
  list(limit?: number): Proposal[];
  /** Every codex version and who ratified it, oldest first. */
  versions(): CodexVersion[];
  /** Stops a draft in progress (it is abandoned) and waits for it. */
  close(): Promise<void>;
}

/** What became of an edit of the codex on the host. */
export type HostEdit =
  | { ok: true; version: number; stale?: Proposal }
  | { ok: false; code: 'INVALID'; problems: string[] }
  | { ok: false; code: 'UNCHANGED' };

const refuse = (
  code: GovernanceRefusalCode,
  reason: string,
  proposal?: Proposal,
): Decision & { ok: false } => ({ ok: false, code, reason, ...(proposal ? { proposal } : {}) });

export function createAmendments(deps: AmendmentDeps): Amendments {
  const settings = { ...DEFAULT_AMENDMENT_SETTINGS, ...deps.settings };
  const { store } = deps;
  const log = deps.logger.child({ module: 'amendments' });
  const now = () => deps.clock.now();

  repairAfterRestart();

  const closing = new AbortController();
  const drafts = new Set<Promise<unknown>>();
  const tracked = <T>(promise: Promise<T>): Promise<T> => {
    drafts.add(promise);
    void promise.finally(() => drafts.delete(promise)).catch(() => undefined);
    return promise;
  };

  /**
   * What a restart may have cut short: a draft (abandoned, so autonomy does not stay paused for
   * it) and an approval between its recorded intent and its completion (finished when the new
   * codex reached the disk, else undone: the proposal is pending again).
   */
  function repairAfterRestart(): void {
    for (const stuck of store.list(100).filter((p) => p.state === 'drafting')) {
      store.update(
        stuck.id,
        () => ({
          state: 'abandoned',
          reason: 'the bot restarted while it was being drafted',
          interrupted: true,
        }),
        now(),
      );
      log.warn({ proposal: stuck.id }, 'abandoned a draft interrupted by a restart');
    }
    const approving = store.active();
    const intent = approving?.approving;
    if (approving && intent) {
      let onDisk = '';
      try {
        onDisk = readFileSync(deps.codexPath, 'utf8');
      } catch {
        // No codex on disk: the write did not happen.
      }
      if (sha256(onDisk) === intent.hash) {
        store.completeApproval(approving.id, {
          version: intent.version,
          hash: intent.hash,
          proposalId: approving.id,
          approvedBy: intent.by,
          at: intent.at,
          ...(intent.archivedPrevious ? { archivedPrevious: intent.archivedPrevious } : {}),
        });
        log.warn(
          { proposal: approving.id, version: intent.version },
          'completed an approval interrupted by a restart (the codex had been written)',
        );
      } else {
        store.update(approving.id, () => ({ approving: undefined }), now());
        log.warn(
          { proposal: approving.id },
          'an approval was interrupted before the codex was written; the proposal is pending again',
        );
      }
    }
    // The codex as first found is version history's first entry.
    const current = deps.codex();
    if (!store.versions().some((v) => v.version === current.data.version)) {
      store.addVersion({ version: current.data.version, hash: current.hash, at: now() });
    }
  }

  /** Dissonant dialogues in the window that no proposal has answered, oldest first. */
  const inWindow = () => deps.records.between(now() - settings.windowMs, now() + 1);
  const dissonant = () => unansweredDissonance(inWindow(), store.answered(), settings.highDissonance);

  function newProposal(fields: Partial<Proposal> & Pick<Proposal, 'kind' | 'requestedBy'>): Proposal {
    const codex = deps.codex();
    return store.create({
      id: store.nextId(),
      state: 'drafting',
      title: '',
      principles: [],
      rationale: '',
      consequences: '',
      baseHash: codex.hash,
      baseVersion: codex.data.version,
      newCodex: '',
      diff: '',
      history: [],
      evidence: [],
      createdAt: now(),
      updatedAt: now(),
      openedBy: [],
      ...fields,
    });
  }

  async function draft(proposal: Proposal, evidence: StoredRecord[], note?: string): Promise<Proposal> {
    const codex = deps.codex();
    const excerpts = evidence.map((record, i) => evidenceEntry(record, i, evidence.length));
    const history: HistoryEntry[] = [...excerpts];
    if (note) history.push({ kind: 'note', title: 'The Architect’s note', text: note, at: now() });
    let feedback: string | undefined;
    try {
      for (let attempt = 1; attempt <= settings.maxAttempts; attempt++) {
        const answer = await deps.modelFor('ALFRED').invoke(
          [
            { role: 'system', content: deps.systemPrompt('ALFRED') },
            { role: 'user', content: draftPrompt(codex, excerpts, note, feedback) },
          ],
          { signal: closing.signal },
        );
        const parsed = parseDraft(answer);
        const checked =
          'error' in parsed
            ? { ok: false as const, problems: [parsed.error] }
            : checkAmendedCodex(codex, parsed.codex, `proposal ${proposal.id}`, codex.data.version + 1);
        if ('error' in parsed || !checked.ok) {
          feedback = (checked.ok ? [] : checked.problems).join('; ');
          history.push({
            kind: 'refusal',
            title: `ALFRED's draft ${attempt} was refused`,
            text: `${'error' in parsed ? '' : `${parsed.title}\n`}Problems: ${feedback}`,
            at: now(),
          });
          log.info({ proposal: proposal.id, attempt, problems: feedback }, 'amendment draft refused');
          continue;
        }
        history.push({
          kind: 'draft',
          title: `ALFRED's draft ${attempt}: ${parsed.title}`,
          text: `Principles:\n${parsed.principles.map((p) => `- ${p}`).join('\n')}\n\nRationale: ${parsed.rationale}\n\nConsequences: ${parsed.consequences}`,
          at: now(),
        });
        const diff = codexDiff(
          codex.source,
          parsed.codex,
          `v${codex.data.version}`,
          `proposal ${proposal.id}`,
        );
        history.push(...(await reviews(parsed, diff)));
        const ready = store.update(
          proposal.id,
          () => ({
            state: 'pending',
            title: parsed.title,
            principles: parsed.principles,
            rationale: parsed.rationale,
            consequences: parsed.consequences,
            newCodex: parsed.codex,
            diff,
            history,
          }),
          now(),
        );
        log.info({ proposal: ready.id, evidence: evidence.length }, 'amendment proposed');
        deps.bus.publish('proposal_ready', { proposal: ready });
        return ready;
      }
      return abandon(
        proposal.id,
        `ALFRED's drafts were refused ${settings.maxAttempts} times: ${feedback}`,
        history,
      );
    } catch (error) {
      log.error({ err: error, proposal: proposal.id }, 'amendment drafting failed');
      return abandon(proposal.id, `drafting failed: ${(error as Error).message ?? String(error)}`, history);
    }
  }

  /** BRICK and ROBIN weigh the draft before it reaches the architect; part of the history. */
  async function reviews(draft: Draft, diff: string): Promise<HistoryEntry[]> {
    const entries: HistoryEntry[] = [];
    for (const [persona, ask] of REVIEWERS) {
      try {
        const review = await deps.modelFor(persona).invoke(
          [
            { role: 'system', content: deps.systemPrompt(persona) },
            { role: 'user', content: reviewPrompt(ask, draft, diff) },
          ],
          { signal: closing.signal },
        );
        entries.push({
          kind: 'review',
          title: `${persona}'s review`,
          text: review.trim().slice(0, 1500),
          at: now(),
        });
      } catch (error) {
        if (closing.signal.aborted) throw error;
        log.warn({ err: error, persona }, 'a review of the amendment failed');
        entries.push({
          kind: 'note',
          title: `${persona} could not review it`,
          text: (error as Error).message ?? String(error),
          at: now(),
        });
      }
    }
    return entries;
  }

  function abandon(id: string, reason: string, history: HistoryEntry[]): Proposal {
    const abandoned = store.update(id, () => ({ state: 'abandoned', reason, history }), now());
    log.warn({ proposal: id, reason }, 'amendment abandoned; autonomy resumes');
    deps.bus.publish('proposal_abandoned', { proposal: abandoned });
    return abandoned;
  }

  const activeReason = (p: Proposal) =>
    p.state === 'drafting'
      ? `proposal ${p.id} is being drafted`
      : `proposal ${p.id} (${p.title || p.kind}) awaits the architect's decision`;

  function pending(id: string): Decision {
    const proposal = store.get(id);
    if (!proposal) return refuse('NO_SUCH_PROPOSAL', `There is no proposal ${id}.`);
    if (proposal.state !== 'pending') {
      const why = proposal.reason ? `: ${proposal.reason}` : '';
      return refuse('ALREADY_DECIDED', `Proposal ${id} is already ${proposal.state}${why}.`, proposal);
    }
    return { ok: true, proposal };
  }

  function busy(): Decision | undefined {
    const active = store.active();
    return active ? refuse('BUSY', `Not now: ${activeReason(active)}.`, active) : undefined;
  }

  function markStale(id: string, reason: string): Decision {
    const stale = store.update(id, () => ({ state: 'stale', reason, decidedAt: now() }), now());
    log.warn({ proposal: id, reason }, 'stale proposal');
    return refuse('STALE', `Proposal ${id} is stale: ${reason}.`, stale);
  }

  return {
    get: (id) => store.get(id),
    inspect: (id) => pending(id),
    active: () => store.active(),
    list: (limit) => store.list(limit),
    versions: () => store.versions(),
    pausedReason() {
      const active = store.active();
      return active ? activeReason(active) : null;
    },
    async evaluate() {
      if (store.active()) return undefined;
      const evidence = dissonant();
      if (evidence.length < settings.minEvents) return undefined;
      // Created before any await: a second trigger sees it and stands down.
      const proposal = newProposal({
        kind: 'amendment',
        requestedBy: 'system',
        evidence: evidence.map((r) => r.id),
      });
      log.info(
        { proposal: proposal.id, evidence: evidence.length },
        'persistent dissonance: drafting an amendment',
      );
      return tracked(draft(proposal, evidence));
    },
    async propose(requestedBy, note) {
      const refused = busy();
      if (refused) return refused;
      let evidence = dissonant();
      // Nothing above the high level: the most dissonant recent dialogues still inform the draft.
      if (evidence.length === 0) evidence = mostDissonant(inWindow(), 5);
      if (evidence.length === 0 && !note) {
        return refuse('NOTHING_TO_DRAFT', 'There are no dialogues in the window and no note to draft from.');
      }
      const proposal = newProposal({ kind: 'amendment', requestedBy, evidence: evidence.map((r) => r.id) });
      return { ok: true, proposal: await tracked(draft(proposal, evidence, note)) };
    },
    rollback(version, requestedBy) {
      const refused = busy();
      if (refused) return refused;
      const codex = deps.codex();
      if (version === codex.data.version)
        return refuse('CURRENT_VERSION', `Version ${version} is the current codex.`);
      const text = archivedCodex(deps.dataDir, version);
      if (!text) {
        const known = store.versions().map((v) => v.version);
        return refuse(
          'NOT_ARCHIVED',
          `Version ${version} is not archived (known versions: ${known.join(', ')}).`,
        );
      }
      // An old version must still pass today's checks (schema, core) before it is offered.
      const checked = checkAmendedCodex(codex, text, `codex-v${version}.toml`, codex.data.version + 1);
      if (!checked.ok) {
        return refuse(
          'CANNOT_RESTORE',
          `Version ${version} cannot be restored: ${checked.problems.join('; ')}`,
        );
      }
      const proposal = newProposal({ kind: 'rollback', requestedBy, rollbackTo: version });
      const ready = store.update(
        proposal.id,
        () => ({
          state: 'pending',
          title: `Roll the codex back to version ${version}`,
          principles: [`Every principle and prompt as they were in version ${version}`],
          rationale: `An architect asked to restore version ${version}.`,
          consequences: `The personas behave as they did under version ${version}; the current version ${codex.data.version} stays archived.`,
          newCodex: text,
          diff: codexDiff(codex.source, text, `v${codex.data.version}`, `v${version}`),
          history: [
            {
              kind: 'note',
              title: 'A rollback',
              text: `An architect asked to restore codex version ${version}. It becomes version ${codex.data.version + 1}; the history stays whole.`,
              at: now(),
            },
          ],
        }),
        now(),
      );
      deps.bus.publish('proposal_ready', { proposal: ready });
      return { ok: true, proposal: ready };
    },
    openHistory(id, userId) {
      const verdict = pending(id);
      if (!verdict.ok) return verdict;
      const proposal = store.update(id, (p) => ({ openedBy: [...new Set([...p.openedBy, userId])] }), now());
      return { ok: true, proposal };
    },
    async approve(id, userId) {
      const verdict = pending(id);
      if (!verdict.ok) return verdict;
      const proposal = verdict.proposal;
      if (!proposal.openedBy.includes(userId)) {
        return refuse(
          'HISTORY_NOT_OPENED',
          'Open the history first: an amendment is approved only by someone who has read how it came about.',
          proposal,
        );
      }
      // From the check to the write nothing awaits: a second press finds the decision made.
      const onDisk = readFileSync(deps.codexPath, 'utf8');
      const current = deps.codex();
      if (sha256(onDisk) !== proposal.baseHash) {
        return markStale(
          id,
          `the codex changed after this was drafted (drafted against version ${proposal.baseVersion}, now version ${current.data.version})`,
        );
      }
      const version = current.data.version + 1;
      if (store.versions().some((v) => v.version === version)) {
        return markStale(
          id,
          `version ${version} is already recorded; the codex history must not be overwritten`,
        );
      }
      // Checked again as it will be written: a codex that would not load is never written.
      const checked = checkAmendedCodex(current, proposal.newCodex, deps.codexPath, version);
      if (!checked.ok)
        return markStale(id, `the amended codex no longer validates: ${checked.problems.join('; ')}`);
      const { text, codex } = checked.checked;
      const hash = sha256(text);
      const at = now();
      // Intent first, so a crash at any point below is finished or undone at the next start.
      const archivedPrevious = archiveCodex(deps.dataDir, current.data.version, onDisk);
      store.update(id, () => ({ approving: { version, hash, by: userId, at, archivedPrevious } }), at);
      writeCodex(deps.codexPath, text);
      const approved = store.completeApproval(id, {
        version,
        hash,
        proposalId: id,
        approvedBy: userId,
        at,
        archivedPrevious,
      });
      deps.applyCodex(codex);
      log.info(
        { proposal: id, version, approvedBy: userId },
        'amendment ratified; the new codex is in force',
      );
      deps.bus.publish('codex_amended', { proposal: approved, version });
      return { ok: true, proposal: approved };
    },
    reject(id, userId) {
      const verdict = pending(id);
      if (!verdict.ok) return verdict;
      const rejected = store.update(
        id,
        () => ({ state: 'rejected', decidedBy: userId, decidedAt: now() }),
        now(),
      );
      log.info({ proposal: id, rejectedBy: userId }, 'amendment rejected; autonomy resumes');
      return { ok: true, proposal: rejected };
    },
    withdraw(id, reason) {
      const verdict = pending(id);
      if (!verdict.ok) return verdict;
      const withdrawn = store.update(id, () => ({ state: 'abandoned', reason }), now());
      log.warn({ proposal: id, reason }, 'proposal withdrawn; autonomy resumes');
      return { ok: true, proposal: withdrawn };
    },
    placed(id, where) {
      return store.update(id, () => where, now());
    },
    adoptHostEdit(text) {
      const current = deps.codex();
      if (sha256(text) === current.hash) return { ok: false, code: 'UNCHANGED' };
      let parsed: Codex;
      try {
        parsed = parseCodex(text, deps.codexPath);
      } catch (error) {
        if (!(error instanceof CodexError)) throw error;
        const problems = error.problems.map(
          (p) => `${deps.codexPath}${p.line ? `:${p.line}` : ''}${p.key ? ` ${p.key}` : ''}: ${p.message}`,
        );
        log.warn({ problems }, 'an edit of the codex on the host was refused; the old codex stays in force');
        deps.bus.publish('codex_refused', { problems });
        return { ok: false, code: 'INVALID', problems };
      }
      // Every text in force has its own version: an edit that kept the number gets the next.
      const recorded = Math.max(current.data.version, ...store.versions().map((v) => v.version));
      let adopted = parsed;
      if (parsed.data.version <= recorded) {
        const versioned = withVersionLine(text, recorded + 1);
        adopted = parseCodex(versioned, deps.codexPath);
        if (adopted.data.version !== recorded + 1) {
          return {
            ok: false,
            code: 'INVALID',
            problems: [
              `${deps.codexPath}: the top-level \`version\` must be a plain \`version = N\` line before the first table`,
            ],
          };
        }
        writeCodex(deps.codexPath, adopted.source);
      }
      const archivedPrevious = archiveCodex(deps.dataDir, current.data.version, current.source);
      store.addVersion({
        version: adopted.data.version,
        hash: adopted.hash,
        approvedBy: 'host',
        at: now(),
        archivedPrevious,
      });
      const active = store.active();
      let stale: Proposal | undefined;
      if (active) {
        stale = store.update(
          active.id,
          () => ({
            state: 'stale',
            reason: 'the codex was edited on the host after it was drafted',
            decidedAt: now(),
          }),
          now(),
        );
        log.warn({ proposal: active.id }, 'the codex was edited on the host: the pending proposal is stale');
      }
      deps.applyCodex(adopted);
      log.info({ version: adopted.data.version }, 'the codex was edited on the host; in force now');
      deps.bus.publish('codex_edited', { version: adopted.data.version, ...(stale ? { stale } : {}) });
      return { ok: true, version: adopted.data.version, ...(stale ? { stale } : {}) };
    },
    async close() {
      closing.abort(new Error('shutting down'));
      await Promise.allSettled([...drafts]);
    },
  };
}
