/**
 * The promotion rule (`FINETUNE_PROMOTE_RULE`) as arithmetic: when a candidate's share of an exam
 * counts as better, when as clearly worse, and what an exam of a given size can ever show. A
 * share is wins + ½ ties over the prompts, so it moves in steps of half a prompt.
 */

export type PromoteRule = 'lower-bound' | 'majority';

const Z95 = 1.96;

/** The lower end of the 95% Wilson score interval of a share `score` over `n` trials. */
export function wilsonLowerBound(score: number, n: number, z = Z95): number {
  if (n <= 0) return 0;
  const z2 = z * z;
  const centre = score + z2 / (2 * n);
  const spread = z * Math.sqrt((score * (1 - score)) / n + z2 / (4 * n * n));
  return (centre - spread) / (1 + z2 / n);
}

/** The upper end of the same interval. */
export function wilsonUpperBound(score: number, n: number, z = Z95): number {
  if (n <= 0) return 1;
  const z2 = z * z;
  const centre = score + z2 / (2 * n);
  const spread = z * Math.sqrt((score * (1 - score)) / n + z2 / (4 * n * n));
  return (centre + spread) / (1 + z2 / n);
}

/** Whether a share of `n` prompts is better under the rule. */
export function clearsRule(score: number, n: number, rule: PromoteRule): boolean {
  if (n <= 0) return false;
  return rule === 'majority' ? score > 0.5 : wilsonLowerBound(score, n) > 0.5;
}

/**
 * Whether a share of `n` prompts is clearly worse: the rule's mirror image, so a candidate is
 * held back elsewhere by the same evidence that would promote it. A share near a half (mostly
 * ties, as two alike models earn) is not worse under the lower-bound rule; judges are noisy.
 */
export function worseUnderRule(score: number, n: number, rule: PromoteRule): boolean {
  if (n <= 0) return false;
  return rule === 'majority' ? score < 0.5 : wilsonUpperBound(score, n) < 0.5;
}

/**
 * The smallest share of `n` prompts the rule promotes, or undefined when even winning every
 * prompt would not: the exam is too small for this rule.
 */
export function smallestPromotableShare(n: number, rule: PromoteRule): number | undefined {
  for (let halves = 0; halves <= 2 * n; halves++) {
    const score = halves / (2 * n);
    if (clearsRule(score, n, rule)) return score;
  }
  return undefined;
}

/** The fewest prompts on which a candidate that wins them all is promoted (lower-bound: 4; majority: 1). */
export function fewestPromotablePrompts(rule: PromoteRule): number {
  let n = 1;
  while (!clearsRule(1, n, rule)) n++;
  return n;
}
