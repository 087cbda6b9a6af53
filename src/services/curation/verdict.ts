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

export type VerdictReading =
  | {
      ok: true;
      verdict: Verdict;
      /** What the judge stated that the points overrule (a total that is not their sum), to be logged. */
      corrected?: string;
    }
  | { ok: false; problem: string };

export const REASON_CHARS = 300;

/** A point per criterion, or what is wrong with them: a point is 0 or 1, never a guess. */
function readPoints(scores: unknown): { points: Record<Criterion, 0 | 1> } | { problem: string } {
  if (!scores || typeof scores !== 'object' || Array.isArray(scores)) return { problem: 'no scores' };
  const points = {} as Record<Criterion, 0 | 1>;
  for (const criterion of CRITERIA) {
    const point = (scores as Record<string, unknown>)[criterion];
    if (point === undefined) return { problem: `no score for ${criterion}` };
    if (point !== 0 && point !== 1) {
      return { problem: `${criterion} scored ${JSON.stringify(point)}, not 0 or 1` };
    }
    points[criterion] = point;
  }
  return { points };
}

/** Why a stated total gives way to the points' sum, or undefined when it is the sum. */
function totalCorrection(total: unknown, sum: number): string | undefined {
  if (total === undefined) return `no total stated; the points make ${sum}`;
  if (typeof total !== 'number' || !Number.isInteger(total) || total < 0 || total > MAX_SCORE) {
    return `total ${JSON.stringify(total)} is not a whole number from 0 to ${MAX_SCORE}; the points make ${sum}`;
  }
  return total === sum ? undefined : `total ${total} is not the sum of the scores; the points make ${sum}`;
}

/**
 * Reads the judge's answer: JSON with a 0 or 1 for every criterion and a reason. The points are
 * the verdict: a total that is missing, out of range or not their sum is replaced by their sum
 * (and said in `corrected`), since a judge that adds up wrong still judged each criterion.
 * Anything else (no JSON, a point of 7 or "1", no reason) is a problem, never a guess: an
 * unreadable verdict keeps nothing.
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
  const reading = readPoints(scores);
  if ('problem' in reading) return { ok: false, problem: reading.problem };
  const { points } = reading;
  const line = typeof reason === 'string' ? reason.trim().split('\n')[0]?.trim() : '';
  if (!line) return { ok: false, problem: 'no reason' };
  const sum = CRITERIA.reduce((n, criterion) => n + points[criterion], 0);
  const corrected = totalCorrection(total, sum);
  const verdict = { scores: points, total: sum, reason: truncate(line, REASON_CHARS) };
  return corrected ? { ok: true, verdict, corrected } : { ok: true, verdict };
}
