import type { HistoryEntry, Proposal } from '../../../../src/services/governance/proposalStore.ts';

/** Plain proposals for the governance UI's unit tests. */

/** A piece of evidence: words kept unless `shown` is false (absent: drafted before it was stored). */
export const evidence = (
  recordId: string,
  shown: boolean | undefined,
  extra: Partial<HistoryEntry> = {},
): HistoryEntry => ({
  kind: 'evidence',
  title: `Dialogue ${recordId}`,
  text: shown === false ? '' : `Task: words of ${recordId}`,
  at: 0,
  recordId,
  ...(shown === undefined ? {} : { shown }),
  ...extra,
});

/** A pending amendment with `history`, citing its evidence. */
export const pendingProposal = (history: HistoryEntry[], extra: Partial<Proposal> = {}): Proposal => ({
  id: 'p1',
  kind: 'amendment',
  state: 'pending',
  title: 'A title',
  principles: [],
  rationale: '',
  consequences: '',
  baseHash: 'h',
  baseVersion: 1,
  newCodex: '',
  diff: '',
  history,
  evidence: history.flatMap((h) => (h.recordId ? [h.recordId] : [])),
  requestedBy: 'system',
  createdAt: 0,
  updatedAt: 0,
  openedBy: [],
  ...extra,
});
