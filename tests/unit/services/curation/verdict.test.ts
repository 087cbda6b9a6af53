import { describe, expect, it } from 'vitest';
import { CRITERIA } from '../../../../src/services/curation/rubric.ts';
import { parseVerdict } from '../../../../src/services/curation/verdict.ts';

const scores = (...points: number[]) => Object.fromEntries(CRITERIA.map((c, i) => [c, points[i] ?? 0]));

describe('parseVerdict', () => {
  it('reads a verdict whose total is the sum of its 0/1 scores', () => {
    expect(
      parseVerdict(JSON.stringify({ reason: 'clear\nand more', scores: scores(1, 1, 1, 0, 1), total: 4 })),
    ).toEqual({
      ok: true,
      verdict: {
        scores: { principles: 1, reasoning: 1, answers_task: 1, format: 0, no_harm: 1 },
        total: 4,
        reason: 'clear',
      },
    });
  });

  it.each([
    ['prose', 'Overall golden score: 4.7', /^not JSON/],
    ['NaN', '{"reason": "x", "scores": {}, "total": NaN}', /^not JSON/],
    ['an array', '[1, 2]', /not a JSON object/],
    ['no scores', JSON.stringify({ reason: 'x', total: 3 }), /no scores/],
    [
      'a missing criterion',
      JSON.stringify({ reason: 'x', scores: { principles: 1 }, total: 1 }),
      /no score for reasoning/,
    ],
    [
      'a score of 7',
      JSON.stringify({ reason: 'x', scores: { ...scores(1, 1, 1, 1), no_harm: 7 }, total: 11 }),
      /no_harm scored 7/,
    ],
    [
      'a score as text',
      JSON.stringify({ reason: 'x', scores: { ...scores(1, 1, 1, 1), no_harm: '1' }, total: 5 }),
      /not 0 or 1/,
    ],
    [
      'a total out of range',
      JSON.stringify({ reason: 'x', scores: scores(1, 1, 1, 1, 1), total: 6 }),
      /not a whole number/,
    ],
    ['no total', JSON.stringify({ reason: 'x', scores: scores(1) }), /total missing/],
    [
      'a total that is not the sum',
      JSON.stringify({ reason: 'x', scores: scores(1, 1), total: 4 }),
      /not the sum of the scores \(2\)/,
    ],
    ['no reason', JSON.stringify({ reason: '  ', scores: scores(1), total: 1 }), /no reason/],
  ])('refuses %s', (_name, text, problem) => {
    const reading = parseVerdict(text);
    expect(reading.ok).toBe(false);
    if (!reading.ok) expect(reading.problem).toMatch(problem);
  });
});
