import { truncate } from '../../shared/text.ts';
import { CRITERIA, type Criterion, MAX_SCORE } from './rubric.ts';

/** A verdict that passed every check: a point (0 or 1) per criterion, their sum, a reason. */
export interface Verdict {
  scores: Record<Criterion, 0 | 1>;
  /** The sum of the scores, 0–5. */
  total: number;
  /** One line, at most {@link REASON_CHARS} characters. */
  reason: string;
}

export type VerdictReading = { ok: true; verdict: Verdict } | { ok: false; problem: string };

export const REASON_CHARS = 300;

/**
 * Reads the judge's answer strictly: JSON with a 0 or 1 for every criterion, a total that is
 * their sum, and a reason. Anything else (no JSON, a score of 7, a string, a total that does not
 * add up) is a problem, never a guess: an unreadable verdict keeps nothing.
 */
export function parseVerdict(text: string): VerdictReading {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, problem: `not JSON: ${truncate(text.trim() || '(empty)', 80)}` };
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, problem: 'not a JSON object' };
  }
  const { scores, total, reason } = value as Record<string, unknown>;
  if (!scores || typeof scores !== 'object' || Array.isArray(scores))
    return { ok: false, problem: 'no scores' };
  const points = {} as Record<Criterion, 0 | 1>;
  for (const criterion of CRITERIA) {
    const point = (scores as Record<string, unknown>)[criterion];
    if (point === undefined) return { ok: false, problem: `no score for ${criterion}` };
    if (point !== 0 && point !== 1) {
      return { ok: false, problem: `${criterion} scored ${JSON.stringify(point)}, not 0 or 1` };
    }
    points[criterion] = point;
  }
  const sum = CRITERIA.reduce((n, criterion) => n + points[criterion], 0);
  if (typeof total !== 'number' || !Number.isInteger(total) || total < 0 || total > MAX_SCORE) {
    return {
      ok: false,
      problem: `total ${JSON.stringify(total) ?? 'missing'} is not a whole number from 0 to ${MAX_SCORE}`,
    };
  }
  if (total !== sum) return { ok: false, problem: `total ${total} is not the sum of the scores (${sum})` };
  const line = typeof reason === 'string' ? reason.trim().split('\n')[0]?.trim() : '';
  if (!line) return { ok: false, problem: 'no reason' };
  return { ok: true, verdict: { scores: points, total, reason: truncate(line, REASON_CHARS) } };
}
