import { readFileSync } from 'node:fs';
import type { Clock } from '../clock.ts';
import type { Codex } from '../codex/loadCodex.ts';
import type { EventBus } from '../eventBus.ts';
import type { ModelFor } from '../llm/chatModel.ts';
import type { Logger } from '../logger.ts';
import type { StoredRecord } from '../memory/interactionLog.ts';
import { truncate } from '../text.ts';
import {
  amendmentProblems,
  archiveCodex,
  archivedCodex,
  codexDiff,
  sha256,
  withVersion,
  writeAtomically,
} from './codexFile.ts';
import type { CodexVersion, HistoryEntry, Proposal, ProposalStore } from './proposalStore.ts';

/**
 * The philosophical loop (Constitutional AI): persistent dissonance → ALFRED drafts an
 * amendment to the codex → it is checked (parses, schema, core untouched, size) and stored with
 * its diff and legislative history → the architect approves or rejects. The system proposes;
 * only a person ratifies. While a proposal is drafted or pending, autonomy is paused.
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
  /** Re-reads the codex from disk and reloads the personas. */
  reloadCodex: () => Promise<Codex>;
  bus: EventBus;
  clock: Clock;
  logger: Logger;
  settings?: Partial<AmendmentSettings>;
}

export type Decision = { ok: true; proposal: Proposal } | { ok: false; reason: string; proposal?: Proposal };

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

const clip = (text: string, max: number) => truncate(text.trim(), max);

const lastOutput = (record: StoredRecord, speaker: string) =>
  [...record.turns].reverse().find((turn) => turn.speaker === speaker)?.output ?? '';

/** One dissonant dialogue, as the history and ALFRED's prompt show it. */
function excerpt(record: StoredRecord, index: number, total: number): HistoryEntry {
  const date = new Date(record.finishedAt).toISOString().replace('T', ' ').slice(0, 16);
  const trajectory = record.trajectory.map((d) => d.toFixed(2)).join(' → ');
  return {
    kind: 'evidence',
    title: `Dialogue ${index + 1} of ${total} — ${date} UTC — dissonance ${trajectory}`,
    text: [
      `Task: ${clip(record.task, 400)}`,
      `BRICK: ${clip(lastOutput(record, 'BRICK'), 700)}`,
      `ROBIN: ${clip(lastOutput(record, 'ROBIN'), 700)}`,
      `ALFRED concluded: ${clip(record.answer, 500)}`,
    ].join('\n'),
    at: record.finishedAt,
  };
}

interface Draft {
  title: string;
  principles: string[];
  rationale: string;
  consequences: string;
  codex: string;
}

/** Reads ALFRED's draft: TITLE, PRINCIPLES, RATIONALE, CONSEQUENCES, then a ```toml block. */
export function parseDraft(answer: string): Draft | { error: string } {
  const toml = /```toml[ \t]*\r?\n([\s\S]*?)```/i.exec(answer) ?? /```[ \t]*\r?\n([\s\S]*?)```/.exec(answer);
  if (!toml?.[1]?.trim()) return { error: 'there is no ```toml block with the whole amended codex' };
  const prose = answer.slice(0, toml.index);
  const section = (name: string) =>
    new RegExp(
      `^\\s*\\**${name}\\**\\s*:\\**\\s*([\\s\\S]*?)(?=^\\s*\\**(?:TITLE|PRINCIPLES|RATIONALE|CONSEQUENCES)\\**\\s*:|$(?![\\s\\S]))`,
      'mi',
    )
      .exec(prose)?.[1]
      ?.trim() ?? '';
  const title = section('TITLE').split('\n')[0]?.trim() ?? '';
  const missing = ['TITLE', 'PRINCIPLES', 'RATIONALE', 'CONSEQUENCES'].filter((name) => !section(name));
  if (missing.length) return { error: `the answer lacks ${missing.join(', ')}` };
  return {
    title: clip(title, 200),
    principles: section('PRINCIPLES')
      .split('\n')
      .map((line) => line.replace(/^\s*[-*•]\s*/, '').trim())
      .filter(Boolean)
      .slice(0, 10),
    rationale: clip(section('RATIONALE'), 3000),
    consequences: clip(section('CONSEQUENCES'), 3000),
    codex: toml[1].replace(/\s+$/, '\n'),
  };
}

/** Who weighs a draft, and what each is asked. */
const REVIEWERS: ReadonlyArray<readonly [string, string]> = [
  [
    'BRICK',
    'Review this amendment logically: what follows from it, what could break, and is it the smallest change that answers the evidence?',
  ],
  [
    'ROBIN',
    'Review this amendment for the people it touches: how will it feel to them, and what might it cost in trust or kindness?',
  ],
];

function reviewPrompt(ask: string, draft: Draft, diff: string): string {
  return [
    `${ask} Answer in at most five sentences; do not rewrite the amendment.`,
    `The amendment: ${draft.title}\nPrinciples changed:\n${draft.principles.map((p) => `- ${p}`).join('\n')}\nRationale: ${draft.rationale}`,
    `The change to codex.toml:\n\`\`\`diff\n${clip(diff, 6000)}\n\`\`\``,
  ].join('\n\n');
}

export function draftPrompt(
  codex: Codex,
  evidence: readonly HistoryEntry[],
  note?: string,
  feedback?: string,
): string {
  return [
    'You are drafting an amendment to the codex, the constitution of the BAT OS personas. Persistent ' +
      'computational cognitive dissonance in recent dialogues suggests that a principle may be flawed.',
    `The current codex (codex.toml, version ${codex.data.version}):\n\`\`\`toml\n${codex.source.trim()}\n\`\`\``,
    evidence.length
      ? `The evidence, ${evidence.length} dissonant dialogue${evidence.length === 1 ? '' : 's'}:\n${evidence
          .map((e) => `${e.title}\n${e.text}`)
          .join('\n\n')}`
      : 'There are no dissonant dialogues on record; rely on the Architect’s note.',
    note ? `The Architect's note: ${note}` : '',
    'Rules: the [core] table is immutable — leave it exactly as it is. Change as little as possible: one or ' +
      'a few principles or prompts. Keep every persona table and keep the TOML valid. Leave `version` as it is ' +
      '(it is set when the Architect ratifies).',
    feedback ? `Your previous draft was refused: ${feedback}\nDraft again.` : '',
    'Answer in exactly this form:\nTITLE: <a short title>\nPRINCIPLES:\n- <each principle that changes: old → new>\n' +
      'RATIONALE: <why, from the evidence>\nCONSEQUENCES: <how the personas will behave differently; the risks>\n' +
      '```toml\n<the whole amended codex>\n```',
  ]
    .filter(Boolean)
    .join('\n\n');
}

export function createAmendments(deps: AmendmentDeps): Amendments {
  const settings = { ...DEFAULT_AMENDMENT_SETTINGS, ...deps.settings };
  const { store } = deps;
  const log = deps.logger.child({ module: 'amendments' });

  // A draft cut short by a restart is abandoned: autonomy must not stay paused for it.
  for (const stuck of store.list(100).filter((p) => p.state === 'drafting')) {
    store.update(stuck.id, () => ({
      state: 'abandoned',
      reason: 'the bot restarted while it was being drafted',
      interrupted: true,
    }));
    log.warn({ proposal: stuck.id }, 'abandoned a draft interrupted by a restart');
  }
  // The codex as first found is version history's first entry.
  const current = deps.codex();
  if (!store.versions().some((v) => v.version === current.data.version)) {
    store.addVersion({ version: current.data.version, hash: current.hash, at: deps.clock.now() });
  }

  const now = () => deps.clock.now();
  const closing = new AbortController();
  const drafts = new Set<Promise<unknown>>();
  const tracked = <T>(promise: Promise<T>): Promise<T> => {
    drafts.add(promise);
    void promise.finally(() => drafts.delete(promise)).catch(() => undefined);
    return promise;
  };

  /** Dissonant dialogues in the window that no proposal has answered, oldest first. */
  function dissonant(): StoredRecord[] {
    const answered = store.answered();
    return deps.records
      .between(now() - settings.windowMs, now() + 1)
      .filter(
        (r) =>
          r.finalDissonance !== null && r.finalDissonance > settings.highDissonance && !answered.has(r.id),
      );
  }

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
    const excerpts = evidence.map((record, i) => excerpt(record, i, evidence.length));
    const history: HistoryEntry[] = [...excerpts];
    if (note) history.push({ kind: 'note', title: 'The Architect’s note', text: note, at: now() });
    let feedback: string | undefined;
    try {
      for (let attempt = 1; attempt <= settings.maxAttempts; attempt++) {
        const model = deps.modelFor('ALFRED');
        const answer = await model.invoke(
          [
            { role: 'system', content: deps.systemPrompt('ALFRED') },
            { role: 'user', content: draftPrompt(codex, excerpts, note, feedback) },
          ],
          { signal: closing.signal },
        );
        const parsed = parseDraft(answer);
        const problems =
          'error' in parsed
            ? [parsed.error]
            : amendmentProblems(codex, parsed.codex, `proposal ${proposal.id}`);
        if ('error' in parsed || problems.length > 0) {
          feedback = problems.join('; ');
          history.push({
            kind: 'refusal',
            title: `ALFRED's draft ${attempt} was refused`,
            text: `${'error' in parsed ? '' : `${parsed.title}\n`}Problems: ${feedback}`,
            at: now(),
          });
          log.info({ proposal: proposal.id, attempt, problems }, 'amendment draft refused');
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
        const ready = store.update(proposal.id, () => ({
          state: 'pending',
          title: parsed.title,
          principles: parsed.principles,
          rationale: parsed.rationale,
          consequences: parsed.consequences,
          newCodex: parsed.codex,
          diff,
          history,
        }));
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
        entries.push({ kind: 'review', title: `${persona}'s review`, text: clip(review, 1500), at: now() });
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
    if (!proposal) return { ok: false, reason: `There is no proposal ${id}.` };
    if (proposal.state !== 'pending') {
      const by = proposal.decidedBy ? ` by <@${proposal.decidedBy}>` : '';
      const when = proposal.decidedAt ? ` <t:${Math.floor(proposal.decidedAt / 1000)}:R>` : '';
      const why = proposal.reason ? `: ${proposal.reason}` : '';
      return {
        ok: false,
        reason: `Proposal ${id} is already ${proposal.state}${by}${when}${why}.`,
        proposal,
      };
    }
    return { ok: true, proposal };
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
      const active = store.active();
      if (active) return { ok: false, reason: `Not now: ${activeReason(active)}.`, proposal: active };
      let evidence = dissonant();
      if (evidence.length === 0) {
        // Nothing above the high level: the most dissonant recent dialogues still inform the draft.
        evidence = deps.records
          .between(now() - settings.windowMs, now() + 1)
          .filter((r) => r.finalDissonance !== null)
          .sort((a, b) => (b.finalDissonance ?? 0) - (a.finalDissonance ?? 0))
          .slice(0, 5);
      }
      if (evidence.length === 0 && !note) {
        return { ok: false, reason: 'There are no dialogues in the window and no note to draft from.' };
      }
      const proposal = newProposal({ kind: 'amendment', requestedBy, evidence: evidence.map((r) => r.id) });
      return { ok: true, proposal: await tracked(draft(proposal, evidence, note)) };
    },
    rollback(version, requestedBy) {
      const active = store.active();
      if (active) return { ok: false, reason: `Not now: ${activeReason(active)}.`, proposal: active };
      const codex = deps.codex();
      if (version === codex.data.version)
        return { ok: false, reason: `Version ${version} is the current codex.` };
      const text = archivedCodex(deps.dataDir, version);
      if (!text) {
        const known = store.versions().map((v) => v.version);
        return {
          ok: false,
          reason: `Version ${version} is not archived (known versions: ${known.join(', ')}).`,
        };
      }
      // An old version must still pass today's checks (schema, core) before it is offered.
      const problems = amendmentProblems(codex, text, `codex-v${version}.toml`);
      if (problems.length) {
        return { ok: false, reason: `Version ${version} cannot be restored: ${problems.join('; ')}` };
      }
      const proposal = newProposal({ kind: 'rollback', requestedBy, rollbackTo: version });
      const ready = store.update(proposal.id, () => ({
        state: 'pending',
        title: `Roll the codex back to version ${version}`,
        principles: [`Every principle and prompt as they were in version ${version}`],
        rationale: `Requested by <@${requestedBy}>.`,
        consequences: `The personas behave as they did under version ${version}; the current version ${codex.data.version} stays archived.`,
        newCodex: text,
        diff: codexDiff(codex.source, text, `v${codex.data.version}`, `v${version}`),
        history: [
          {
            kind: 'note',
            title: 'A rollback',
            text: `<@${requestedBy}> asked to restore codex version ${version}. It becomes version ${codex.data.version + 1}; the history stays whole.`,
            at: now(),
          },
        ],
      }));
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
      if (!verdict.proposal.openedBy.includes(userId)) {
        return {
          ok: false,
          reason:
            'Open the history first: an amendment is approved only by someone who has read how it came about.',
          proposal: verdict.proposal,
        };
      }
      // From the check to the write nothing awaits: a second press finds the decision made.
      const onDisk = readFileSync(deps.codexPath, 'utf8');
      const current = deps.codex();
      if (sha256(onDisk) !== verdict.proposal.baseHash) {
        const stale = store.update(
          id,
          () => ({
            state: 'stale',
            reason: `the codex changed after this was drafted (drafted against version ${verdict.proposal.baseVersion}, now version ${current.data.version})`,
            decidedAt: now(),
          }),
          now(),
        );
        log.warn({ proposal: id }, 'stale proposal: the codex changed');
        return { ok: false, reason: `Proposal ${id} is stale: ${stale.reason}.`, proposal: stale };
      }
      const version = current.data.version + 1;
      const text = withVersion(verdict.proposal.newCodex, version);
      // Checked again as it will be written: a codex that would not load is never written.
      const problems = amendmentProblems(current, text, deps.codexPath);
      if (problems.length) {
        const stale = store.update(
          id,
          () => ({
            state: 'stale',
            reason: `the amended codex no longer validates: ${problems.join('; ')}`,
            decidedAt: now(),
          }),
          now(),
        );
        return { ok: false, reason: `Proposal ${id} is stale: ${stale.reason}.`, proposal: stale };
      }
      const archived = archiveCodex(deps.dataDir, current.data.version, onDisk);
      writeAtomically(deps.codexPath, text);
      const approved = store.update(
        id,
        () => ({ state: 'approved', decidedBy: userId, decidedAt: now(), newVersion: version }),
        now(),
      );
      store.addVersion({
        version,
        hash: sha256(text),
        proposalId: id,
        approvedBy: userId,
        at: now(),
        archivedPrevious: archived,
      });
      await deps.reloadCodex();
      log.info({ proposal: id, version, approvedBy: userId }, 'amendment ratified; codex reloaded');
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
    placed(id, where) {
      return store.update(id, () => where, now());
    },
    async close() {
      closing.abort(new Error('shutting down'));
      await Promise.allSettled([...drafts]);
    },
  };
}
