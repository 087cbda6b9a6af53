import type { HistoryEntry, Proposal, ProposalStore } from '../governance/proposalStore.ts';
import { cutForgotten, type Forgotten } from './forgotten.ts';

/**
 * `/memory forget` in the codex proposals' evidence, a minimal removal of this branch's own (the
 * governance part of issue 22 brings `amendments.forgetEvidence`; this stands until it is wired
 * in its place): a forgotten dialogue's evidence entry keeps its title (a date and a dissonance
 * trajectory) but not its words, and verbatim copies of them are cut from the rest of the
 * history and from the rationale. The ids stay in `evidence`, so the dialogue still counts as
 * answered. The amended codex and its diff are the law as proposed, and are not rewritten.
 */

/** What stands in place of a forgotten dialogue's evidence. */
export const FORGOTTEN_EVIDENCE =
  'This dialogue has since been forgotten (`/memory forget`): its words are no longer kept.';

/** Cuts the forgotten dialogues from every proposal that holds them; returns the proposals changed. */
export async function forgetProposalEvidence(
  store: Pick<ProposalStore, 'list' | 'update' | 'scrub'>,
  forgotten: Forgotten,
  at: number,
): Promise<string[]> {
  const ids = new Set(forgotten.ids);
  const changed: string[] = [];
  // Every proposal, newest first (a negative limit is no limit).
  for (const proposal of await store.list(-1)) {
    // Only a proposal that cites it was drafted from its words.
    if (!proposal.evidence.some((id) => ids.has(id))) continue;
    if (!cutProposal(proposal, ids, forgotten)) continue;
    // Cut from the proposal as stored now: a change made meanwhile elsewhere is kept.
    await store.update(proposal.id, (current) => cutProposal(current, ids, forgotten) ?? {}, at);
    changed.push(proposal.id);
  }
  if (changed.length > 0) await store.scrub(['proposals']);
  return changed;
}

/** The fields of a proposal that change, or undefined when none does. */
function cutProposal(
  proposal: Proposal,
  ids: ReadonlySet<string>,
  forgotten: Forgotten,
): Partial<Proposal> | undefined {
  const history = proposal.history.map((entry) => cutEntry(entry, ids, forgotten));
  const rationale = cutForgotten(proposal.rationale, forgotten);
  const consequences = cutForgotten(proposal.consequences, forgotten);
  const same =
    history.every((entry, i) => entry === proposal.history[i]) &&
    rationale === proposal.rationale &&
    consequences === proposal.consequences;
  return same ? undefined : { history, rationale, consequences };
}

function cutEntry(entry: HistoryEntry, ids: ReadonlySet<string>, forgotten: Forgotten): HistoryEntry {
  if (entry.kind === 'evidence' && entry.recordId && ids.has(entry.recordId))
    return entry.text === FORGOTTEN_EVIDENCE ? entry : { ...entry, text: FORGOTTEN_EVIDENCE };
  const text = cutForgotten(entry.text, forgotten);
  return text === entry.text ? entry : { ...entry, text };
}
