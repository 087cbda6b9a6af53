import { clip } from '../../shared/text.ts';
import type { DialogueVisibility, StoredRecord } from '../memory/interactionLog.ts';
import type { HistoryEntry, Proposal } from './proposalStore.ts';
import { quoteFinder, redactQuotes } from './quotes.ts';

/**
 * The dissonant dialogues behind a proposal, as its history and ALFRED's prompt show them. A
 * proposal is drafted for the readers of the channel it will be posted in: whether each dialogue
 * is theirs to read is decided then and stored with it, and only those dialogues' words are kept,
 * shown to ALFRED and posted. The others count by their date and dissonance alone.
 */

/**
 * Who may read what, as the bot knows it (the services cannot ask Discord): the channel a
 * proposal will be posted in, and whether its readers may read a dialogue held elsewhere.
 */
export interface EvidenceReaders {
  /**
   * The channel a proposal will be posted in: the governance channel, else `askedIn` (where
   * `/codex propose` was asked); undefined when there is none.
   */
  channelFor(askedIn?: string): string | undefined;
  /**
   * Whether everyone who can read `audience` may read a dialogue held in `channelId`; a
   * dialogue held in no channel (the terminal chat's) is not theirs to read.
   */
  readable(audience: string): (channelId: string | undefined) => boolean;
}

/** Readers nobody has told the loop about (no bot yet): every dialogue's words are withheld. */
export const NO_READERS: EvidenceReaders = { channelFor: () => undefined, readable: () => () => false };

/** Where a dialogue is never the readers' to read, whatever its channel: a private thread, a DM, another server. */
const NEVER_SHOWN: ReadonlySet<DialogueVisibility | undefined> = new Set(['private-thread', 'dm', 'foreign']);

/** Which dialogues may be shown to the readers of `audience` (none: to nobody), asked once per draft. */
export function showable(
  readers: EvidenceReaders,
  audience: string | undefined,
): (record: StoredRecord) => boolean {
  if (audience === undefined) return () => false;
  const readable = readers.readable(audience);
  return (record) => !NEVER_SHOWN.has(record.visibility) && readable(record.channelId);
}

const lastOutput = (record: StoredRecord, speaker: string) =>
  [...record.turns].reverse().find((turn) => turn.speaker === speaker)?.output ?? '';

/**
 * One dissonant dialogue as an entry of the legislative history: its words only when its readers
 * may read it (`shown`), else its date and dissonance alone.
 */
export function evidenceEntry(
  record: StoredRecord,
  index: number,
  total: number,
  shown: boolean,
): HistoryEntry {
  const date = new Date(record.finishedAt).toISOString().replace('T', ' ').slice(0, 16);
  const trajectory = record.trajectory.map((d) => d.toFixed(2)).join(' → ');
  return {
    kind: 'evidence',
    title: `Dialogue ${index + 1} of ${total} — ${date} UTC — dissonance ${trajectory}`,
    text: shown
      ? [
          `Task: ${clip(record.task, 400)}`,
          `BRICK: ${clip(lastOutput(record, 'BRICK'), 700)}`,
          `ROBIN: ${clip(lastOutput(record, 'ROBIN'), 700)}`,
          `ALFRED concluded: ${clip(record.answer, 500)}`,
        ].join('\n')
      : '',
    at: record.finishedAt,
    recordId: record.id,
    shown,
  };
}

/** What ALFRED's prompt says in the place of a dialogue he may not quote. */
export const WITHHELD_IN_PROMPT =
  '(Held where the readers of this proposal may not read it: only its date and dissonance are given. Do not guess at its words.)';

/** An evidence entry as ALFRED's prompt gives it. */
export const promptEvidence = (entry: HistoryEntry) =>
  `${entry.title}\n${entry.shown === true ? entry.text : WITHHELD_IN_PROMPT}`;

/** Every word a dialogue holds that a draft could repeat: the task, each turn, the answer. */
const wordsOf = (record: StoredRecord) => [record.task, ...record.turns.map((t) => t.output), record.answer];

/**
 * Whether a text repeats words of the dialogues its readers may not read (`withheld`); words
 * they may read anyway (`known`: the codex, the note, the evidence shown) do not count.
 */
export function repeatsWithheld(
  withheld: readonly StoredRecord[],
  known: readonly string[],
): (text: string) => boolean {
  const find = quoteFinder(withheld.flatMap(wordsOf).filter(Boolean), known);
  return (text) => find(text).length > 0;
}

/**
 * A proposal with forgotten dialogues' words gone: their evidence keeps its title (date and
 * dissonance) and is marked forgotten, and what the proposal says elsewhere (title, principles,
 * rationale, consequences, the deliberation) has any run of their words cut. Undefined when it
 * holds none of them. The amended codex and its diff are left as drafted: they are what the
 * architect ratifies, and ALFRED drafts the codex, not quotes.
 */
export function forgetEvidenceIn(
  proposal: Proposal,
  recordIds: ReadonlySet<string>,
): Pick<Proposal, 'title' | 'principles' | 'rationale' | 'consequences' | 'history'> | undefined {
  const forgotten = (entry: HistoryEntry) =>
    entry.kind === 'evidence' && entry.recordId !== undefined && recordIds.has(entry.recordId);
  const gone = proposal.history.filter((entry) => forgotten(entry) && !entry.forgotten);
  if (gone.length === 0) return undefined;
  const words = gone.map((entry) => entry.text).filter(Boolean);
  const cut = (text: string) => (words.length ? redactQuotes(text, words) : text);
  return {
    title: cut(proposal.title),
    principles: proposal.principles.map(cut),
    rationale: cut(proposal.rationale),
    consequences: cut(proposal.consequences),
    history: proposal.history.map((entry): HistoryEntry => {
      if (forgotten(entry)) return { ...entry, text: '', shown: false, forgotten: true };
      return entry.kind === 'evidence' ? entry : { ...entry, title: cut(entry.title), text: cut(entry.text) };
    }),
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
