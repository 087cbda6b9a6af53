import type { StoredRecord } from '../memory/interactionLog.ts';
import type { CurationLedger } from './curationLedger.ts';
import { utcDay } from './curationScope.ts';
import type { GoldenStore } from './goldenStore.ts';
import type { GoldenSample } from './sample.ts';

/**
 * `CURATION_MEMBER_DAILY`: one member's dialogues of one UTC day add at most so many golden
 * samples, counted durably in the ledger. The day is the dialogue's, not the run's: a backlog
 * curated later gets no fresh allowance, so a flood of dialogues in one day adds the cap and no more.
 */

export interface CapDeps {
  golden: Pick<GoldenStore, 'append' | 'has'>;
  ledger: Pick<CurationLedger, 'memberAdded' | 'countMemberSamples'>;
  /** The cap (0: none). */
  memberDaily: number;
}

/** What appending one verdict's samples came to. */
export interface Appended {
  added: number;
  /** Already in the set (same content). */
  duplicates: number;
  /** Left out: the member's dialogues of that day had added their share. */
  capped: number;
}

/**
 * Appends a dialogue's samples for a persona within its asker's daily cap. A dialogue without an
 * asker (the terminal chat, the motivator) is the operator's, and is not capped.
 */
export async function appendWithinCap(
  deps: CapDeps,
  record: Pick<StoredRecord, 'userId' | 'startedAt'>,
  persona: string,
  samples: readonly GoldenSample[],
): Promise<Appended> {
  const member = record.userId;
  if (!member || deps.memberDaily <= 0) return { ...(await deps.golden.append(persona, samples)), capped: 0 };
  const day = utcDay(record.startedAt);
  const room = Math.max(0, deps.memberDaily - (await deps.ledger.memberAdded(member, day)));
  const fresh: GoldenSample[] = [];
  for (const sample of samples)
    if (!(await deps.golden.has(persona, sample.meta.content_hash))) fresh.push(sample);
  const kept = fresh.slice(0, room);
  const { added, duplicates } = await deps.golden.append(persona, kept);
  await deps.ledger.countMemberSamples(member, day, added);
  return {
    added,
    duplicates: samples.length - fresh.length + duplicates,
    capped: fresh.length - kept.length,
  };
}
