import { describe, expect, it } from 'vitest';
import {
  agreementOf,
  cohenKappa,
  judgeLabel,
  type Label,
  peopleLabel,
} from '../../../../src/services/curation/agreement.ts';

/** `n` pairs of the same two calls. */
const times = (n: number, judge: Label, people: Label) =>
  Array.from({ length: n }, () => ({ judge, people }));

describe("Cohen's kappa", () => {
  it('gives the textbook values (Wikipedia’s 20/5/10/15 example is 0.4)', () => {
    expect(cohenKappa({ keptGood: 20, keptBad: 5, refusedGood: 10, refusedBad: 15 })).toBeCloseTo(0.4, 10);
    // p_o 0.6, p_e 0.54.
    expect(cohenKappa({ keptGood: 45, keptBad: 15, refusedGood: 25, refusedBad: 15 })).toBeCloseTo(0.1304, 4);
    // The same p_o with other rates: p_e 0.46.
    expect(cohenKappa({ keptGood: 25, keptBad: 35, refusedGood: 5, refusedBad: 35 })).toBeCloseTo(0.2593, 4);
  });

  it('is 1 for perfect agreement, 0 at chance, negative below it', () => {
    expect(cohenKappa({ keptGood: 3, keptBad: 0, refusedGood: 0, refusedBad: 2 })).toBe(1);
    expect(cohenKappa({ keptGood: 1, keptBad: 1, refusedGood: 1, refusedBad: 1 })).toBe(0);
    expect(cohenKappa({ keptGood: 0, keptBad: 2, refusedGood: 2, refusedBad: 0 })).toBe(-1);
  });

  it('is undefined with nothing compared, or when both sides made one call throughout', () => {
    expect(cohenKappa({ keptGood: 0, keptBad: 0, refusedGood: 0, refusedBad: 0 })).toBeNull();
    expect(cohenKappa({ keptGood: 4, keptBad: 0, refusedGood: 0, refusedBad: 0 })).toBeNull();
  });
});

describe('the agreement of paired calls', () => {
  it('counts the four cells, the share of agreement and kappa', () => {
    const agreement = agreementOf([
      ...times(2, 'good', 'good'),
      ...times(1, 'bad', 'bad'),
      ...times(1, 'good', 'bad'),
      ...times(1, 'bad', 'good'),
    ]);
    expect(agreement).toMatchObject({
      table: { keptGood: 2, refusedBad: 1, keptBad: 1, refusedGood: 1 },
      compared: 5,
      agreed: 3,
      share: 0.6,
    });
    // p_o 0.6; both sides say good 3 times in 5: p_e 0.52.
    expect(agreement.kappa).toBeCloseTo(0.08 / 0.48, 10);
  });

  it('has no share and no kappa with nothing to compare', () => {
    expect(agreementOf([])).toMatchObject({ compared: 0, agreed: 0, share: null, kappa: null });
  });

  it('reads the judge’s call from a verdict: kept is good, refused is bad, no judgement is no call', () => {
    expect(judgeLabel({ status: 'judged', kept: true })).toBe('good');
    expect(judgeLabel({ status: 'judged', kept: false })).toBe('bad');
    expect(judgeLabel({ status: 'invalid', kept: false })).toBeUndefined();
    expect(judgeLabel({ status: 'incomplete', kept: false })).toBeUndefined();
  });

  it('reads people’s call from reactions: one 👎 makes it bad, else a 👍 good', () => {
    expect(peopleLabel({ up: ['a', 'b'], down: ['c'] })).toBe('bad');
    expect(peopleLabel({ up: ['a'], down: [] })).toBe('good');
    expect(peopleLabel({ up: [], down: [] })).toBeUndefined();
  });
});
