import { describe, expect, it } from 'vitest';
import { clip } from '../../../src/shared/text.ts';

describe('clip, the one way text is cut short', () => {
  it('trims, and leaves text that fits as it is', () => {
    expect(clip('  short  ', 10)).toBe('short');
    expect(clip('  short  ', 10, 'omitted')).toBe('short');
  });

  it('ends a title in an ellipsis within the limit', () => {
    const clipped = clip('alpha beta gamma delta', 12);
    expect(clipped).toBe('alpha beta …');
    expect(clipped.length).toBeLessThanOrEqual(12);
  });

  it('cuts a prompt at a word and says how much was left out', () => {
    expect(clip('alpha beta gamma delta', 12, 'omitted')).toBe('alpha beta … [10 more characters omitted]');
  });

  it('never cuts inside a grapheme, in either form', () => {
    const flags = '🇫🇷'.repeat(10);
    for (const mark of ['ellipsis', 'omitted'] as const) {
      for (let max = 1; max < flags.length; max++) {
        const kept = clip(flags, max, mark).replace(/ ?….*$/, '');
        expect(kept.length % 4, `${mark} at ${max}`).toBe(0);
      }
    }
  });
});
