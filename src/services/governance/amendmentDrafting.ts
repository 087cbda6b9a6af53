import { publicMessageOf } from '../../shared/hostDetails.ts';
import type { Clock } from '../clock.ts';
import type { Codex } from '../codex/loadCodex.ts';
import type { EventBus } from '../eventBus.ts';
import type { ModelFor } from '../llm/chatModel.ts';
import type { Logger } from '../logger.ts';
import type { StoredRecord } from '../memory/interactionLog.ts';
import { type Draft, draftPrompt, parseDraft, REVIEWERS, reviewPrompt } from './amendmentDraft.ts';
import type { AmendmentSettings } from './amendmentSettings.ts';
import { checkAmendedCodex, codexDiff } from './codexFile.ts';
import { type EvidenceReaders, evidenceEntry, repeatsWithheld, showable } from './evidence.ts';
import { transition } from './proposalStateMachine.ts';
import type { HistoryEntry, Proposal, ProposalStore } from './proposalStore.ts';

/**
 * A proposal's drafting: ALFRED drafts from the evidence (and the architect's note), each draft
 * is checked (parses, schema, core untouched, size) and a refused one is fed back to him, up to
 * `maxAttempts` times; BRICK and ROBIN review the draft that passes; everything said is kept as
 * the proposal's legislative history.
 *
 * ALFRED is given the words of only the dialogues the proposal's readers may read (decided here,
 * and stored with each piece of evidence); the others by their date and dissonance. What is
 * posted is checked the same way: a draft that repeats words of a withheld dialogue is refused
 * (and fed back to him without them), a review that does is withheld with a note in its place.
 */

export interface DraftingDeps {
  readonly store: Pick<ProposalStore, 'update'>;
  readonly modelFor: ModelFor;
  /** A persona's system prompt (ALFRED drafts; BRICK and ROBIN review). */
  readonly systemPrompt: (personaId: string) => string;
  readonly codex: () => Codex;
  readonly bus: EventBus;
  readonly clock: Clock;
  readonly log: Logger;
  readonly settings: Pick<AmendmentSettings, 'maxAttempts'>;
  /** Who may read what, for the readers of `proposal.draftedFor`. */
  readonly readers: () => EvidenceReaders;
  /** Aborts a draft in progress (shutting down). */
  readonly signal: AbortSignal;
}

/** One of ALFRED's answers, checked: the draft, or what is wrong with it (fed back to him). */
type CheckedDraft = { ok: true; draft: Draft } | { ok: false; title?: string; feedback: string };

/** What ALFRED is told when his draft repeats words its readers may not read (the words themselves are not repeated). */
export const REPEATS_WITHHELD =
  "it repeats words from a dialogue this proposal's readers may not read; draw only on the evidence shown, in your own words";

/**
 * Reads ALFRED's answer and checks the codex in it as it would be written at the next version,
 * and that nothing in it repeats a withheld dialogue (its title is then not kept either).
 */
function checkDraft(
  codex: Codex,
  answer: string,
  proposalId: string,
  repeats: (text: string) => boolean,
): CheckedDraft {
  const parsed = parseDraft(answer);
  if ('error' in parsed) return { ok: false, feedback: parsed.error };
  const { title, principles, rationale, consequences } = parsed;
  if (repeats([title, ...principles, rationale, consequences, parsed.codex].join('\n')))
    return { ok: false, feedback: REPEATS_WITHHELD };
  const checked = checkAmendedCodex(codex, parsed.codex, `proposal ${proposalId}`, codex.data.version + 1);
  if (!checked.ok) return { ok: false, title: parsed.title, feedback: checked.problems.join('; ') };
  return { ok: true, draft: parsed };
}

/** A review that repeats a withheld dialogue's words gives way to a note saying so. */
const guardReview =
  (repeats: (text: string) => boolean) =>
  (entry: HistoryEntry): HistoryEntry =>
    entry.kind === 'review' && repeats(entry.text)
      ? {
          kind: 'note',
          title: `${entry.title} is withheld`,
          text: "It repeated words from a dialogue this proposal's readers may not read.",
          at: entry.at,
        }
      : entry;

const draftText = (draft: Draft) =>
  `Principles:\n${draft.principles.map((p) => `- ${p}`).join('\n')}\n\nRationale: ${draft.rationale}\n\nConsequences: ${draft.consequences}`;

/**
 * Drafts the proposal: pending once a draft passes (`proposal_ready` is published), abandoned
 * when every draft is refused or drafting fails (`proposal_abandoned`).
 */
export async function draftAmendment(
  deps: DraftingDeps,
  proposal: Proposal,
  evidence: StoredRecord[],
  note?: string,
): Promise<Proposal> {
  const now = () => deps.clock.now();
  const codex = deps.codex();
  // Decided now and stored with the evidence: what these readers may read.
  const shown = showable(deps.readers(), proposal.draftedFor);
  const excerpts = evidence.map((record, i) => evidenceEntry(record, i, evidence.length, shown(record)));
  const repeats = repeatsWithheld(
    evidence.filter((record) => !shown(record)),
    [codex.source, note ?? '', ...excerpts.map((e) => e.text)],
  );
  const history: HistoryEntry[] = [...excerpts];
  if (note) history.push({ kind: 'note', title: 'The Architect’s note', text: note, at: now() });
  let feedback: string | undefined;
  try {
    for (let attempt = 1; attempt <= deps.settings.maxAttempts; attempt++) {
      const answer = await deps.modelFor('ALFRED').invoke(
        [
          { role: 'system', content: deps.systemPrompt('ALFRED') },
          { role: 'user', content: draftPrompt(codex, excerpts, note, feedback) },
        ],
        { signal: deps.signal },
      );
      const checked = checkDraft(codex, answer, proposal.id, repeats);
      if (!checked.ok) {
        feedback = checked.feedback;
        history.push({
          kind: 'refusal',
          title: `ALFRED's draft ${attempt} was refused`,
          text: `${checked.title === undefined ? '' : `${checked.title}\n`}Problems: ${feedback}`,
          at: now(),
        });
        deps.log.info({ proposal: proposal.id, attempt, problems: feedback }, 'amendment draft refused');
        continue;
      }
      const { draft } = checked;
      history.push({
        kind: 'draft',
        title: `ALFRED's draft ${attempt}: ${draft.title}`,
        text: draftText(draft),
        at: now(),
      });
      const diff = codexDiff(codex.source, draft.codex, `v${codex.data.version}`, `proposal ${proposal.id}`);
      history.push(...(await reviewDraft(deps, draft, diff)).map(guardReview(repeats)));
      const ready = await deps.store.update(
        proposal.id,
        (p) => transition(p, { type: 'drafted', draft, diff, history }),
        now(),
      );
      // It went stale while ALFRED drafted (the codex edited on the host): nothing to offer.
      if (ready.state !== 'pending') return ready;
      deps.log.info({ proposal: ready.id, evidence: evidence.length }, 'amendment proposed');
      deps.bus.publish('proposal_ready', { proposal: ready });
      return ready;
    }
    return await abandonDraft(
      deps,
      proposal.id,
      `ALFRED's drafts were refused ${deps.settings.maxAttempts} times: ${feedback}`,
      history,
    );
  } catch (error) {
    deps.log.error({ err: error, proposal: proposal.id }, 'amendment drafting failed');
    return abandonDraft(deps, proposal.id, `drafting failed: ${publicMessageOf(error)}`, history);
  }
}

/** BRICK and ROBIN weigh the draft before it reaches the architect; part of the history. */
export async function reviewDraft(
  deps: Pick<DraftingDeps, 'modelFor' | 'systemPrompt' | 'clock' | 'log' | 'signal'>,
  draft: Draft,
  diff: string,
): Promise<HistoryEntry[]> {
  const entries: HistoryEntry[] = [];
  for (const [persona, ask] of REVIEWERS) {
    try {
      const review = await deps.modelFor(persona).invoke(
        [
          { role: 'system', content: deps.systemPrompt(persona) },
          { role: 'user', content: reviewPrompt(ask, draft, diff) },
        ],
        { signal: deps.signal },
      );
      entries.push({
        kind: 'review',
        title: `${persona}'s review`,
        text: review.trim().slice(0, 1500),
        at: deps.clock.now(),
      });
    } catch (error) {
      // Shutting down stops the whole draft; any other failure leaves a note in the review's place.
      if (deps.signal.aborted) throw error;
      deps.log.warn({ err: error, persona }, 'a review of the amendment failed');
      entries.push({
        kind: 'note',
        title: `${persona} could not review it`,
        text: publicMessageOf(error),
        at: deps.clock.now(),
      });
    }
  }
  return entries;
}

/** Gives a draft up: autonomy resumes, and the bot says why. */
async function abandonDraft(
  deps: Pick<DraftingDeps, 'store' | 'bus' | 'clock' | 'log'>,
  id: string,
  reason: string,
  history: HistoryEntry[],
): Promise<Proposal> {
  const abandoned = await deps.store.update(
    id,
    (p) => transition(p, { type: 'abandoned', reason, history }),
    deps.clock.now(),
  );
  if (abandoned.state !== 'abandoned') return abandoned;
  deps.log.warn({ proposal: id, reason }, 'amendment abandoned; autonomy resumes');
  deps.bus.publish('proposal_abandoned', { proposal: abandoned });
  return abandoned;
}
