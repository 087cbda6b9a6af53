import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { graphemeBoundaries, graphemes, truncateGraphemes } from '../../../src/shared/graphemes.ts';

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
/** The reference: the whole text segmented at once (slow on long text, fine on short). */
const reference = (text: string) => Array.from(segmenter.segment(text), (s) => s.segment);

const piece = fc.oneof(
  fc.constantFrom('a', 'Z', ' ', '\n', '\r\n', '\r', '`', '~'),
  fc.constantFrom('👨‍👩‍👧‍👦', '👩🏾‍💻', '🏳️‍🌈', '👍🏽', '❤️', '\u200d', '\ufe0f'),
  fc.constantFrom('🇫', '🇷', '🇺', '🇸', '🇫🇷'),
  fc.constantFrom('\u0301', '\u0300\u0316', 'e\u0301', 'क्ष', 'नि', '\u0600', '각', '\u1100\u1161\u11a8'),
  fc.constantFrom('😀', '𝒜', '\ud83d', '\ude00'),
);
const text = fc.array(piece, { maxLength: 120 }).map((pieces) => pieces.join(''));

describe('graphemeBoundaries', () => {
  it('agrees with segmenting the whole text at once, whatever the chunk size', () => {
    fc.assert(
      fc.property(text, fc.integer({ min: 1, max: 40 }), (sample, chunk) => {
        const flags = graphemeBoundaries(sample, chunk);
        const starts: number[] = [];
        flags.forEach((flag, index) => {
          if (flag && index < sample.length) starts.push(index);
        });
        let at = 0;
        const expected = reference(sample).map((cluster) => {
          const start = at;
          at += cluster.length;
          return start;
        });
        expect(starts).toEqual(expected);
        expect(flags[sample.length]).toBe(1);
      }),
      { numRuns: 10_000 },
    );
  });

  it('stays fast on long emoji text (the whole-string segmenter takes minutes)', () => {
    const long = '😀👨‍👩‍👧‍👦🇫🇷é'.repeat(20_000);
    expect(graphemes(long)).toHaveLength(80_000);
  });
});

describe('truncateGraphemes', () => {
  it('returns text that fits unchanged', () => {
    expect(truncateGraphemes('short', 100)).toBe('short');
  });

  it('cuts between graphemes and ends in an ellipsis when the text is too long', () => {
    const name = `Reflection: ${'👨‍👩‍👧‍👦'.repeat(20)}`;
    const cut = truncateGraphemes(name, 100);
    expect(cut.length).toBeLessThanOrEqual(100);
    expect(cut.endsWith('…')).toBe(true);
    expect(reference(cut.slice(0, -1)).every((g) => g === '👨‍👩‍👧‍👦' || g.length === 1)).toBe(true);
  });

  it('never splits a grapheme nor exceeds the limit', () => {
    fc.assert(
      fc.property(text, fc.integer({ min: 0, max: 60 }), (sample, max) => {
        const cut = truncateGraphemes(sample, max);
        expect(cut.length).toBeLessThanOrEqual(Math.max(0, max));
        if (cut === sample) return;
        if (max < 1) {
          expect(cut).toBe('');
          return;
        }
        expect(cut.endsWith('…')).toBe(true);
        const kept = cut.slice(0, -1);
        expect(sample.startsWith(kept)).toBe(true);
        expect(reference(sample).join('\u0000').startsWith(reference(kept).join('\u0000'))).toBe(true);
        // And it keeps as much as fits: one more grapheme would not.
        const next = reference(sample.slice(kept.length))[0] ?? '';
        expect(kept.length + next.length).toBeGreaterThan(max - 1);
      }),
      { numRuns: 10_000 },
    );
  });
});
