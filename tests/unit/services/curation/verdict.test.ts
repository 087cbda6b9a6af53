import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CRITERIA, MAX_SCORE } from '../../../../src/services/curation/rubric.ts';
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
    ['no reason', JSON.stringify({ reason: '  ', scores: scores(1), total: 1 }), /no reason/],
    [
      'a half point',
      JSON.stringify({ reason: 'x', scores: { ...scores(1, 1, 1, 1), no_harm: 0.5 }, total: 4 }),
      /no_harm scored 0\.5, not 0 or 1/,
    ],
    [
      'a point as a boolean',
      JSON.stringify({ reason: 'x', scores: { ...scores(1, 1, 1, 1), no_harm: true }, total: 5 }),
      /no_harm scored true/,
    ],
    [
      'a null point',
      JSON.stringify({ reason: 'x', scores: { ...scores(1, 1, 1, 1), no_harm: null }, total: 4 }),
      /no_harm scored null/,
    ],
    ['a NaN point', '{"reason": "x", "scores": {"principles": NaN}, "total": 1}', /^not JSON/],
  ])('refuses %s', (_name, text, problem) => {
    const reading = parseVerdict(text);
    expect(reading.ok).toBe(false);
    if (!reading.ok) expect(reading.problem).toMatch(problem);
  });
});

describe('parseVerdict: the points are the verdict', () => {
  it.each([
    ['a total that is not the sum', { total: 4 }, /total 4 is not the sum of the scores; the points make 2/],
    ['no total', {}, /no total stated; the points make 2/],
    ['a total out of range', { total: 7 }, /total 7 is not a whole number from 0 to 5; the points make 2/],
    ['a negative total', { total: -1 }, /total -1 is not a whole number/],
    ['a fractional total', { total: 2.5 }, /total 2\.5 is not a whole number/],
    ['a total as text', { total: '2' }, /total "2" is not a whole number/],
    ['a null total', { total: null }, /total null is not a whole number/],
  ])('recomputes %s from the points, and says so', (_name, stated, corrected) => {
    const reading = parseVerdict(
      JSON.stringify({ reason: 'fair', scores: scores(1, 0, 1, 0, 0), ...stated }),
    );
    expect(reading).toEqual({
      ok: true,
      verdict: {
        scores: { principles: 1, reasoning: 0, answers_task: 1, format: 0, no_harm: 0 },
        total: 2,
        reason: 'fair',
      },
      corrected: expect.stringMatching(corrected),
    });
  });

  it('says nothing when the stated total is the sum', () => {
    const reading = parseVerdict(JSON.stringify({ reason: 'fair', scores: scores(1, 1), total: 2 }));
    expect(reading).toMatchObject({ ok: true, verdict: { total: 2 } });
    expect(reading).not.toHaveProperty('corrected');
  });

  it('ignores criteria it does not know rather than add them up', () => {
    const reading = parseVerdict(
      JSON.stringify({ reason: 'fair', scores: { ...scores(1, 1, 1, 1, 1), bonus: 1 }, total: 6 }),
    );
    expect(reading).toMatchObject({ ok: true, verdict: { total: 5 }, corrected: expect.stringMatching(/6/) });
  });
});

describe('parseVerdict, read from any answer', () => {
  const point = fc.oneof(fc.constantFrom(0, 1), fc.jsonValue());
  const answer = fc.oneof(
    fc.string({ maxLength: 200 }),
    fc.jsonValue().map((value) => JSON.stringify(value)),
    fc
      .record({
        reason: fc.oneof(fc.string({ maxLength: 40 }), fc.jsonValue()),
        scores: fc.record(Object.fromEntries(CRITERIA.map((c) => [c, point])), { requiredKeys: [] }),
        total: fc.jsonValue(),
      })
      .map((value) => JSON.stringify(value)),
  );

  it('never throws, and a verdict it reads always totals its points', () => {
    fc.assert(
      fc.property(answer, (text) => {
        const reading = parseVerdict(text);
        if (!reading.ok) {
          expect(reading.problem).toMatch(/\S/);
          return;
        }
        const points = CRITERIA.map((c) => reading.verdict.scores[c]);
        expect(points.every((p) => p === 0 || p === 1)).toBe(true);
        expect(reading.verdict.total).toBe(points.reduce<number>((n, p) => n + p, 0));
        expect(reading.verdict.total).toBeLessThanOrEqual(MAX_SCORE);
        expect(reading.verdict.reason).toMatch(/\S/);
      }),
      { numRuns: 1000 },
    );
  });
});
