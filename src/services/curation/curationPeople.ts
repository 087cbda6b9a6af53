import type { KeyedLock } from '../../shared/concurrency.ts';
import type { Logger } from '../logger.ts';
import type { DialogueRecord } from '../memory/interactionLog.ts';
import { type Agreement, agreementOf, judgeLabel, type Label, peopleLabel } from './agreement.ts';
import type { ForgetReport } from './curationForgets.ts';
import type { CurationLease } from './curationLease.ts';
import type { CurationLedger, StoredVerdict } from './curationLedger.ts';
import type { GoldenStore } from './goldenStore.ts';
import type { PeopleOnTurn, ReactionStore, Veto } from './reactions.ts';
import type { GoldenSample } from './sample.ts';

/**
 * People's reactions in curation. A 👎 from any member keeps that persona's turns of that dialogue
 * out of the golden set (the judge still judges them, so its verdict can be compared); a 👍 is
 * recorded in the samples' meta; an architect's 👎 also removes the samples already written, now
 * or, when another process holds the sets, by whichever process takes the lease next. The figures
 * of `/curate show` compare the judge's verdicts with people's reactions.
 */

/** Where curation finds people's reactions, and the dialogues they are about. */
export interface PeoplePort {
  reactions: Pick<
    ReactionStore,
    'peopleOn' | 'reactedTurns' | 'pendingVetoes' | 'markVetoesApplied' | 'forgetConversations'
  >;
  /** The interaction log's records of a conversation: each run's record id. */
  recordsOf(
    conversationId: string,
  ): ReadonlyArray<{ id: string; run: number }> | Promise<ReadonlyArray<{ id: string; run: number }>>;
}

export interface PeopleDeps {
  /** Absent: nobody reacts (the terminal's dialogues, a benchmark). */
  people?: PeoplePort;
  ledger: Pick<CurationLedger, 'verdictsOf'>;
  golden: Pick<GoldenStore, 'removeFromSet'>;
  log: Logger;
}

const NOBODY: PeopleOnTurn = Object.freeze({ up: [], down: [], architectDown: false }) as PeopleOnTurn;

/** What people said of a persona's part of a dialogue. */
export async function peopleOn(
  deps: Pick<PeopleDeps, 'people'>,
  record: Pick<DialogueRecord, 'conversationId' | 'run'>,
  persona: string,
): Promise<PeopleOnTurn> {
  return (await deps.people?.reactions.peopleOn(record.conversationId, record.run, persona)) ?? NOBODY;
}

/** The samples with who reacted 👍 in their meta (`meta.reactions.up`, user ids), when anyone did. */
export function withReactions(samples: GoldenSample[], people: PeopleOnTurn): GoldenSample[] {
  if (people.up.length === 0) return samples;
  return samples.map((sample) => ({
    ...sample,
    meta: { ...sample.meta, reactions: { up: [...people.up] } },
  }));
}

/** The record ids of the dialogues a veto names (none before the run is recorded). */
async function recordIdsOf(people: PeoplePort, veto: Veto): Promise<Set<string>> {
  return new Set(
    (await people.recordsOf(veto.conversationId))
      .filter((record) => record.run === veto.run)
      .map((record) => record.id),
  );
}

/** Removes the samples of every persona part an architect's 👎 withdrew (the lease held). */
export async function applyVetoes(deps: PeopleDeps): Promise<ForgetReport['removed']> {
  const { people } = deps;
  const vetoes = (await people?.reactions.pendingVetoes()) ?? [];
  if (!people || vetoes.length === 0) return {};
  const removed: ForgetReport['removed'] = {};
  for (const veto of vetoes) {
    const gone = await deps.golden.removeFromSet(veto.persona, await recordIdsOf(people, veto));
    if (gone.samples === 0 && gone.anchor === 0) continue;
    const sum = removed[veto.persona] ?? { samples: 0, anchor: 0 };
    removed[veto.persona] = { samples: sum.samples + gone.samples, anchor: sum.anchor + gone.anchor };
  }
  await people.reactions.markVetoesApplied(vetoes);
  const total = Object.values(removed).reduce((n, r) => n + r.samples, 0);
  if (total > 0)
    deps.log.info(
      { vetoes: vetoes.length, samples: total },
      "removed the samples an architect's 👎 withdrew",
    );
  return removed;
}

/** Applies the architect's 👎s now, unless another process holds the sets (it applies them when it curates). */
export async function withdrawVetoed(
  deps: PeopleDeps & { lease: CurationLease; lock: KeyedLock },
): Promise<ForgetReport> {
  if (!deps.people) return { removed: {}, total: 0 };
  return deps.lock.run('golden', async () => {
    const lease = await deps.lease.take();
    if (!lease.ok) return { removed: {}, total: 0, pendingOn: lease.pid };
    try {
      const removed = await applyVetoes(deps);
      return { removed, total: Object.values(removed).reduce((n, r) => n + r.samples, 0) };
    } finally {
      await lease.release();
    }
  });
}

/** The judge's verdicts against people's reactions. */
export interface PeopleAgreement {
  agreement: Agreement;
  /** Persona parts of dialogues people reacted to (👍 or 👎). */
  reacted: number;
  /** Of those, the ones the judge made no call on yet (not curated yet, or an unusable verdict). */
  unjudged: number;
}

/** Compares the judge's call with people's on every persona part they reacted to (one persona's, when named). */
export async function peopleAgreement(deps: PeopleDeps, persona?: string): Promise<PeopleAgreement> {
  const { people } = deps;
  const turns = (await people?.reactions.reactedTurns(persona)) ?? [];
  const pairs: Array<{ judge: Label; people: Label }> = [];
  let reacted = 0;
  for (const turn of turns) {
    const said = peopleLabel(turn);
    if (!said || !people) continue;
    reacted++;
    const verdicts: StoredVerdict[] = [];
    for (const id of await recordIdsOf(people, turn)) verdicts.push(...(await deps.ledger.verdictsOf(id)));
    const verdict = verdicts.find((v) => v.persona === turn.persona);
    const judge = verdict ? judgeLabel(verdict) : undefined;
    if (judge) pairs.push({ judge, people: said });
  }
  return { agreement: agreementOf(pairs), reacted, unjudged: reacted - pairs.length };
}

/** Forgets the reactions to the conversations of these records (`/memory forget`). */
export async function forgetReactions(
  deps: Pick<PeopleDeps, 'people'> & {
    records: { get(id: string): Promise<{ conversationId: string } | undefined> };
  },
  interactionIds: readonly string[],
): Promise<void> {
  if (!deps.people) return;
  const conversations = new Set<string>();
  for (const id of interactionIds) {
    const record = await deps.records.get(id);
    if (record) conversations.add(record.conversationId);
  }
  await deps.people.reactions.forgetConversations([...conversations]);
}
