import { describe, expect, it } from 'vitest';
import { calibrate, parseLabels } from '../../../../src/services/curation/calibration.ts';
import type { StoredVerdict } from '../../../../src/services/curation/curationLedger.ts';

const line = (value: unknown) => JSON.stringify(value);

describe('a labels file', () => {
  it('reads one label a line, skipping blank lines and keys it does not know', () => {
    const text = [
      line({ interaction_id: 'r1', persona: 'ROBIN', label: 'bad', note: 'misses BRICK’s point' }),
      '',
      line({ interaction_id: ' r1 ', persona: 'brick', label: 'Good' }),
      '   ',
      line({ interaction_id: 'r2', persona: 'ALFRED', label: 'good' }),
    ].join('\r\n');
    expect(parseLabels(text)).toEqual({
      labels: [
        { interactionId: 'r1', persona: 'ROBIN', label: 'bad', line: 1 },
        { interactionId: 'r1', persona: 'BRICK', label: 'good', line: 3 },
        { interactionId: 'r2', persona: 'ALFRED', label: 'good', line: 5 },
      ],
      problems: [],
    });
  });

  it('says which line is wrong and why, for every wrong line', () => {
    const text = [
      line({ interaction_id: 'r1', persona: 'ROBIN', label: 'good' }),
      '{"interaction_id": "r2", "persona": "ROBIN", ',
      line(['r3', 'ROBIN', 'good']),
      line({ persona: 'ROBIN', label: 'good' }),
      line({ interaction_id: 'r4', persona: 'robin the second', label: 'meh' }),
      line({ interaction_id: 'r1', persona: 'robin', label: 'bad' }),
      'null',
    ].join('\n');
    const { labels, problems } = parseLabels(text);
    expect(labels).toHaveLength(1);
    expect(problems.map((p) => p.line)).toEqual([2, 3, 4, 5, 6, 7]);
    expect(problems[0]?.problem).toMatch(/^not JSON \(/);
    expect(problems[1]?.problem).toBe('expected a JSON object');
    expect(problems[2]?.problem).toBe('"interaction_id" must be a non-empty string');
    expect(problems[3]?.problem).toBe(
      '"persona" must be a persona id such as "ROBIN"; "label" must be "good" or "bad"',
    );
    expect(problems[4]?.problem).toBe('ROBIN in r1 is labelled twice (first on line 1)');
    expect(problems[5]?.problem).toBe('expected a JSON object');
  });
});

/** A ledger that holds these verdicts. */
function ledgerOf(verdicts: Array<Pick<StoredVerdict, 'interactionId' | 'persona' | 'status' | 'kept'>>) {
  return {
    verdictsOf: async (id: string) =>
      verdicts.filter((v) => v.interactionId === id) as unknown as StoredVerdict[],
  };
}

describe('calibrating the judge against labels', () => {
  it('pairs each label with the judge’s verdict on the same part; labels without a judgement are set apart', async () => {
    const ledger = ledgerOf([
      { interactionId: 'r1', persona: 'ROBIN', status: 'judged', kept: false },
      { interactionId: 'r1', persona: 'BRICK', status: 'judged', kept: true },
      { interactionId: 'r2', persona: 'BRICK', status: 'judged', kept: true },
      { interactionId: 'r2', persona: 'ROBIN', status: 'invalid', kept: false },
    ]);
    const { labels } = parseLabels(
      [
        line({ interaction_id: 'r1', persona: 'ROBIN', label: 'bad' }),
        line({ interaction_id: 'r1', persona: 'BRICK', label: 'good' }),
        line({ interaction_id: 'r2', persona: 'BRICK', label: 'bad' }),
        line({ interaction_id: 'r2', persona: 'ROBIN', label: 'good' }),
        line({ interaction_id: 'r9', persona: 'ALFRED', label: 'good' }),
      ].join('\n'),
    );
    const calibration = await calibrate(ledger, labels);
    expect(calibration.labels).toBe(5);
    expect(calibration.agreement).toMatchObject({
      table: { keptGood: 1, refusedBad: 1, keptBad: 1, refusedGood: 0 },
      compared: 3,
      agreed: 2,
    });
    // p_o 2/3; the judge says good 2 of 3, the labels 1 of 3: p_e 4/9.
    expect(calibration.agreement.kappa).toBeCloseTo((2 / 3 - 4 / 9) / (1 - 4 / 9), 10);
    expect(calibration.unjudged.map((l) => [l.interactionId, l.persona, l.line])).toEqual([
      ['r2', 'ROBIN', 4],
      ['r9', 'ALFRED', 5],
    ]);
  });
});
