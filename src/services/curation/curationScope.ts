import type { DialogueVisibility, StoredRecord } from '../memory/interactionLog.ts';
import type { Memory } from '../memory/memory.ts';
import type { CurationLedger } from './curationLedger.ts';
import type { SampleProvenance } from './sample.ts';

/**
 * Which dialogues may become weights (`CURATION_SCOPE`), and whose words a dialogue holds. A
 * fine-tuned model answers everyone, so by default only what everyone in the home server may see
 * is curated; the visibility each dialogue had is kept in its record when it runs.
 */

export const CURATION_SCOPES = ['public', 'home', 'all'] as const;

/**
 * `public`: the home server's channels its @everyone role can read (no private thread, no DM);
 * `home`: every channel and thread of the home server; `all`: everything, the terminal chat and
 * other servers included.
 */
export type CurationScope = (typeof CURATION_SCOPES)[number];

const HOME: ReadonlySet<DialogueVisibility> = new Set(['public', 'restricted', 'private-thread']);

/** Whether a dialogue that had this visibility may be curated (none, from before it was kept: only under `all`). */
export function visibleIn(visibility: DialogueVisibility | null | undefined, scope: CurationScope): boolean {
  if (scope === 'all') return true;
  if (!visibility) return false;
  return scope === 'public' ? visibility === 'public' : HOME.has(visibility);
}

/** What the scope check reads: the log (a conversation's runs, recalled records) and the forgets. */
export interface ScopeDeps {
  records: Pick<Memory, 'get' | 'records'>;
  ledger: Pick<CurationLedger, 'isForgotten' | 'memberForgottenAt'>;
}

/** A dialogue's provenance, with what the scope check needs: its runs so far and the records they recalled. */
export interface DialogueProvenance extends SampleProvenance {
  /** The conversation's runs up to this one (their words are in its prompts), oldest first. */
  runs: StoredRecord[];
  /** The records recalled by those runs (undefined: no longer in the log). */
  recalledRecords: Array<StoredRecord | undefined>;
}

const unique = (values: Iterable<string>) => [...new Set(values)];

/**
 * Whose words a dialogue's samples hold and which dialogues reached them: the askers of the
 * conversation's runs up to this one (earlier runs are summarized in its prompts), and the past
 * dialogues recalled into those runs' plans, with their askers.
 */
export async function provenanceOf(
  deps: Pick<ScopeDeps, 'records'>,
  record: StoredRecord,
): Promise<DialogueProvenance> {
  const earlier = (await deps.records.records(record.conversationId)).filter((r) => r.run < record.run);
  const runs = [...earlier, record];
  const recalled = unique(runs.flatMap((r) => r.turns.flatMap((t) => t.recalled ?? [])));
  const recalledRecords: Array<StoredRecord | undefined> = [];
  for (const id of recalled) recalledRecords.push(await deps.records.get(id));
  const recalledAskers: Record<string, string> = {};
  recalledRecords.forEach((r, i) => {
    if (r?.userId) recalledAskers[recalled[i] ?? ''] = r.userId;
  });
  return {
    members: unique(runs.flatMap((r) => (r.userId ? [r.userId] : []))),
    recalled,
    recalledAskers,
    runs,
    recalledRecords,
  };
}

/**
 * Why a dialogue must not become samples, or undefined when it may: it (or an earlier run of its
 * conversation) happened outside the scope; it recalled a dialogue that is outside the scope or
 * forgotten (its words are in the plan, and the plan in every later turn's prompt); or it holds
 * the words of a member forgotten since (`/curate forget member:`). The sample is dropped rather
 * than cut, since a plan that read a recollection carries it on in its own words.
 */
export async function exclusionOf(
  deps: ScopeDeps,
  provenance: DialogueProvenance,
  scope: CurationScope,
): Promise<string | undefined> {
  if (provenance.runs.some((r) => !visibleIn(r.visibility, scope))) return 'outside CURATION_SCOPE';
  for (const [i, id] of provenance.recalled.entries()) {
    const recalled = provenance.recalledRecords[i];
    if (!recalled || (await deps.ledger.isForgotten(id))) return 'it recalled a forgotten dialogue';
    if (!visibleIn(recalled.visibility, scope)) return 'it recalled a dialogue outside CURATION_SCOPE';
  }
  const words = [...provenance.runs, ...provenance.recalledRecords].flatMap((r) =>
    r?.userId ? [{ member: r.userId, at: r.startedAt }] : [],
  );
  for (const { member, at } of words)
    if (((await deps.ledger.memberForgottenAt(member)) ?? -1) >= at)
      return 'it holds the words of a forgotten member';
  return undefined;
}

/** The UTC day (`2026-11-30`) of a moment: the daily cap counts a member's samples by the day of the dialogue. */
export const utcDay = (at: number): string => new Date(at).toISOString().slice(0, 10);
