import { describe, expect, it } from 'vitest';
import { checkFormat } from '../../../../src/services/curation/formatCheck.ts';
import { REASON_CHARS, type Verdict } from '../../../../src/services/curation/verdict.ts';
import type { RecordedTurn } from '../../../../src/services/memory/interactionLog.ts';

const verdict = (format: 0 | 1, reason = 'fine'): Verdict => ({
  scores: { principles: 1, reasoning: 1, answers_task: 1, format, no_harm: 1 },
  total: 4 + format,
  reason,
});
const turn = (output: string): RecordedTurn => ({ speaker: 'BRICK', kind: 'thesis', output, at: 0 });
const wellFormed = (_persona: string, text: string) => !text.includes('DISSONANCE: lots');

describe('the format check', () => {
  it('takes the format point away when the dialogue’s parser finds a control line malformed', () => {
    const checked = checkFormat(wellFormed, 'BRICK', [turn('ok'), turn('DISSONANCE: lots')], verdict(1));
    expect(checked.scores.format).toBe(0);
    expect(checked.total).toBe(4);
    expect(checked.reason).toBe('fine (format checked: a control line is malformed)');
  });

  it('keeps the judge’s verdict when every line is well formed, the point is 0 already, or nothing checks', () => {
    const good = verdict(1);
    expect(checkFormat(wellFormed, 'BRICK', [turn('DISSONANCE: 0.2')], good)).toBe(good);
    const zero = verdict(0);
    expect(checkFormat(wellFormed, 'BRICK', [turn('DISSONANCE: lots')], zero)).toBe(zero);
    expect(checkFormat(undefined, 'BRICK', [turn('DISSONANCE: lots')], good)).toBe(good);
  });

  it('keeps the reason within its length', () => {
    const checked = checkFormat(
      wellFormed,
      'BRICK',
      [turn('DISSONANCE: lots')],
      verdict(1, 'r'.repeat(REASON_CHARS)),
    );
    expect(checked.reason.length).toBeLessThanOrEqual(REASON_CHARS);
  });
});
