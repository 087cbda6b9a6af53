import { describe, expect, it } from 'vitest';
import {
  clearsRule,
  fewestPromotablePrompts,
  smallestPromotableShare,
  wilsonLowerBound,
  wilsonUpperBound,
  worseUnderRule,
} from '../../../../src/services/finetune/promotionRule.ts';

describe('the promotion rule', () => {
  it('needs 4 held-out prompts under lower-bound and 1 under majority, even at a perfect score', () => {
    expect(fewestPromotablePrompts('lower-bound')).toBe(4);
    expect(fewestPromotablePrompts('majority')).toBe(1);
    // Winning all 3: the lower 95% bound is 0.44, not above a half.
    expect(wilsonLowerBound(1, 3)).toBeCloseTo(0.438, 3);
    expect(smallestPromotableShare(3, 'lower-bound')).toBeUndefined();
    expect(smallestPromotableShare(0, 'majority')).toBeUndefined();
  });

  it('gives the smallest promotable share in half-prompt steps, for each exam size', () => {
    expect(smallestPromotableShare(4, 'lower-bound')).toBe(1);
    expect(smallestPromotableShare(6, 'lower-bound')).toBeCloseTo(11 / 12, 12);
    expect(smallestPromotableShare(12, 'lower-bound')).toBeCloseTo(19 / 24, 12);
    expect(smallestPromotableShare(20, 'lower-bound')).toBe(14.5 / 20);
    expect(smallestPromotableShare(50, 'lower-bound')).toBe(0.64);
    expect(smallestPromotableShare(1, 'majority')).toBe(1);
    expect(smallestPromotableShare(4, 'majority')).toBe(5 / 8);
    expect(smallestPromotableShare(20, 'majority')).toBe(21 / 40);
  });

  it('promotes at the smallest share and not half a prompt below it', () => {
    for (const rule of ['lower-bound', 'majority'] as const)
      for (const n of [4, 5, 7, 12, 20, 33]) {
        const share = smallestPromotableShare(n, rule) as number;
        expect(clearsRule(share, n, rule)).toBe(true);
        expect(clearsRule(share - 1 / (2 * n), n, rule)).toBe(false);
      }
  });

  it('calls a share clearly worse by the rule’s mirror image; ties between alike models are not worse', () => {
    // The mirror: the upper bound of a share is one less the lower bound of its complement.
    expect(wilsonUpperBound(0.3, 12)).toBeCloseTo(1 - wilsonLowerBound(0.7, 12), 12);
    expect(worseUnderRule(0, 4, 'lower-bound')).toBe(true);
    expect(worseUnderRule(0.5, 12, 'lower-bound')).toBe(false);
    // 3 lost, 9 tied of 12: worse under majority, not clearly worse under lower-bound.
    expect(worseUnderRule(4.5 / 12, 12, 'lower-bound')).toBe(false);
    expect(worseUnderRule(4.5 / 12, 12, 'majority')).toBe(true);
    expect(worseUnderRule(0, 0, 'majority')).toBe(false);
  });
});
