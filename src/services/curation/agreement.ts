import type { StoredVerdict } from './curationLedger.ts';
import type { PeopleOnTurn } from './reactions.ts';

/**
 * How far the judge's verdicts agree with people's: the four cells of the two calls, the share of
 * agreement and Cohen's kappa (agreement beyond what chance would give, from each side's own
 * rates). `/curate show` compares the judge with members' reactions, `npm run curate --
 * --calibrate` with a file of labels; both read the same figures.
 */

/** A call on a persona's part of a dialogue: worth learning from, or not. */
export type Label = 'good' | 'bad';

/** How the pairs fall: the judge's call (kept as golden, or refused) against people's. */
export interface AgreementTable {
  /** The judge kept it, people found it good. */
  keptGood: number;
  /** The judge refused it, people found it bad. */
  refusedBad: number;
  /** The judge kept it, people found it bad. */
  keptBad: number;
  /** The judge refused it, people found it good. */
  refusedGood: number;
}

export interface Agreement {
  table: AgreementTable;
  /** Pairs compared. */
  compared: number;
  /** Pairs where both calls are the same. */
  agreed: number;
  /** `agreed / compared`, 0–1; null with nothing compared. */
  share: number | null;
  /** Cohen's kappa, -1–1; null where it is undefined (nothing compared, or both sides made one call throughout). */
  kappa: number | null;
}

/**
 * Cohen's kappa of the two calls: (p_o − p_e) / (1 − p_e), where p_o is the share of agreement and
 * p_e the agreement expected by chance from how often each side says good and bad.
 */
export function cohenKappa(table: AgreementTable): number | null {
  const { keptGood, refusedBad, keptBad, refusedGood } = table;
  const n = keptGood + refusedBad + keptBad + refusedGood;
  if (n === 0) return null;
  const observed = (keptGood + refusedBad) / n;
  const judgeGood = (keptGood + keptBad) / n;
  const peopleGood = (keptGood + refusedGood) / n;
  const chance = judgeGood * peopleGood + (1 - judgeGood) * (1 - peopleGood);
  if (chance === 1) return null;
  return (observed - chance) / (1 - chance);
}

/** The agreement of a set of paired calls. */
export function agreementOf(pairs: Iterable<{ judge: Label; people: Label }>): Agreement {
  const table: AgreementTable = { keptGood: 0, refusedBad: 0, keptBad: 0, refusedGood: 0 };
  for (const { judge, people } of pairs) {
    if (judge === 'good') table[people === 'good' ? 'keptGood' : 'keptBad']++;
    else table[people === 'good' ? 'refusedGood' : 'refusedBad']++;
  }
  const compared = table.keptGood + table.refusedBad + table.keptBad + table.refusedGood;
  const agreed = table.keptGood + table.refusedBad;
  return { table, compared, agreed, share: compared ? agreed / compared : null, kappa: cohenKappa(table) };
}

/**
 * The judge's call in a verdict: kept (golden) is good, refused below the threshold is bad. A
 * verdict that is not a judgement (unusable, or turns not recorded whole) makes no call.
 */
export function judgeLabel(verdict: Pick<StoredVerdict, 'status' | 'kept'>): Label | undefined {
  if (verdict.status !== 'judged') return undefined;
  return verdict.kept ? 'good' : 'bad';
}

/**
 * People's call from their reactions: one 👎 makes it bad (as one 👎 keeps the turns out of the
 * golden set), else a 👍 makes it good.
 */
export function peopleLabel(people: Pick<PeopleOnTurn, 'up' | 'down'>): Label | undefined {
  if (people.down.length > 0) return 'bad';
  return people.up.length > 0 ? 'good' : undefined;
}
