import { clip } from '../../shared/text.ts';
import type { StoredRecord } from '../memory/interactionLog.ts';
import type { HistoryEntry } from './proposalStore.ts';

/** The dissonant dialogues behind a proposal, as its history and ALFRED's prompt show them. */

const lastOutput = (record: StoredRecord, speaker: string) =>
  [...record.turns].reverse().find((turn) => turn.speaker === speaker)?.output ?? '';

/** One dissonant dialogue as an entry of the legislative history. */
export function evidenceEntry(record: StoredRecord, index: number, total: number): HistoryEntry {
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
    recordId: record.id,
  };
}

/** Dialogues that ended above `highDissonance`, not yet answered by a proposal, oldest first. */
export function unansweredDissonance(
  records: readonly StoredRecord[],
  answered: ReadonlySet<string>,
  highDissonance: number,
): StoredRecord[] {
  return records.filter(
    (r) => r.finalDissonance !== null && r.finalDissonance > highDissonance && !answered.has(r.id),
  );
}

/** The most dissonant dialogues, most dissonant first: what `/codex propose` drafts from when none is high. */
export function mostDissonant(records: readonly StoredRecord[], count: number): StoredRecord[] {
  return records
    .filter((r) => r.finalDissonance !== null)
    .sort((a, b) => (b.finalDissonance ?? 0) - (a.finalDissonance ?? 0))
    .slice(0, count);
}
