import { describe, expect, it } from 'vitest';
import { QUOTE_LENGTH, quotes, redactQuotes } from '../../../../src/services/governance/quotes.ts';

const SECRET = 'the board meets at the lake house to plan the merger with Acme';

describe('a quote', () => {
  it('is a run of 40 characters or more, whatever the case or the spacing', () => {
    expect(QUOTE_LENGTH).toBe(40);
    expect(quotes(`As they said: ${SECRET.toUpperCase()}!`, [SECRET])).toBe(true);
    expect(quotes(SECRET.replaceAll(' ', '\n   '), [SECRET])).toBe(true);
    // 39 characters shared: a common phrase, not a quote.
    expect(quotes(`x ${SECRET.slice(0, 39)} y`, [SECRET])).toBe(false);
    expect(quotes('nothing alike', [SECRET])).toBe(false);
    expect(quotes(SECRET, [])).toBe(false);
  });

  it('does not count words the readers may read anyway', () => {
    expect(quotes(`Quoting the codex: ${SECRET}`, [SECRET], [`codex: ${SECRET}`])).toBe(false);
  });

  it('is cut out whole, and the rest kept as written', () => {
    expect(redactQuotes(`Before. ${SECRET}, they said. After.`, [`Someone: ${SECRET}.`])).toBe(
      'Before. […], they said. After.',
    );
    expect(redactQuotes('Nothing to cut.', [SECRET])).toBe('Nothing to cut.');
  });
});
