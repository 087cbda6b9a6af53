import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { splitMessage } from '../../../../src/bot/posting/splitMessage.ts';
import { graphemeBoundaries } from '../../../../src/shared/graphemes.ts';

/**
 * Property-based proof of splitMessage's contract over hostile text: ASCII, newlines, runs of
 * spaces, code fences (``` and ~~~, with plain, long and hostile language tags), emoji (ZWJ
 * families, flags, skin tones), combining marks and astral characters.
 */

const RUNS = 10_000;

// ---------------------------------------------------------------------------------------------
// An independent reading of the fence rules splitMessage documents: up to 10 spaces or tabs,
// then a run of exactly 3–10 backticks or tildes opens a block; inside one, a run of the same
// character at least as long, then at most 10 spaces or tabs (and an optional CR), closes it.

interface Block {
  char: string;
  run: number;
  info: string;
}

function fenceOf(line: string): { char: string; run: number; rest: string } | null {
  let at = 0;
  while (at < line.length && (line[at] === ' ' || line[at] === '\t')) at++;
  if (at > 10) return null;
  const char = line[at];
  if (char !== '`' && char !== '~') return null;
  let end = at;
  while (line[end] === char) end++;
  const run = end - at;
  return run >= 3 && run <= 10 ? { char, run, rest: line.slice(end) } : null;
}

/** The block open after each line of `text` (and before the first: none). */
function scan(text: string): { lines: string[]; before: Array<Block | null>; after: Array<Block | null> } {
  const lines = text.split('\n');
  const before: Array<Block | null> = [];
  const after: Array<Block | null> = [];
  let open: Block | null = null;
  for (const line of lines) {
    before.push(open);
    const fence = fenceOf(line);
    if (fence && !open) open = { char: fence.char, run: fence.run, info: fence.rest };
    else if (
      fence &&
      open &&
      fence.char === open.char &&
      fence.run >= open.run &&
      /^[ \t]{0,10}\r?$/.test(fence.rest)
    )
      open = null;
    after.push(open);
  }
  return { lines, before, after };
}

const balanced = (text: string) => scan(text).after.at(-1) === null;

/** The block open at each index of `text`: before its line at a line start, after it inside the line. */
function blocksOf(text: string): (at: number) => Block | null {
  const { lines, before, after } = scan(text);
  const starts: number[] = [];
  let start = 0;
  for (const line of lines) {
    starts.push(start);
    start += line.length + 1;
  }
  return (at) => {
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (starts[mid]! <= at) low = mid;
      else high = mid - 1;
    }
    return at === starts[low] ? before[low]! : after[low]!;
  };
}

const tagOf = (info: string) => {
  const word = /^[ \t]*([A-Za-z0-9_+.#-]+)(?:\s|$)/.exec(info)?.[1] ?? '';
  return word.slice(0, 20);
};
const openerFor = (block: Block) => `${block.char.repeat(block.run)}${tagOf(block.info)}\n`;
const closerFor = (block: Block) => `\n${block.char.repeat(block.run)}`;

/** The indices (shifted by `offset`) where grapheme clusters start, the end excluded. */
function starts(flags: Uint8Array, offset: number): number[] {
  const found: number[] = [];
  for (let i = 0; i < flags.length - 1; i++) if (flags[i]) found.push(i + offset);
  return found;
}

interface Core {
  /** Where the core lies in the (trimmed) text. */
  start: number;
  end: number;
  /** Where it starts in its part (after the added opener). */
  at: number;
}

/**
 * Finds each part's text in the input: part i is [opener] + core + [closer], where the opener
 * is present exactly when the cut before it fell inside a block and the closer exactly when the
 * cut after it did; between the cores, and around them, there is only whitespace. A closer can
 * also read as the start of the text's next line, so both readings are tried.
 */
function locate(input: string, parts: string[]): Core[] {
  const text = input.trimEnd();
  const blockAt = blocksOf(text);
  const search = (index: number, at: number, open: Block | null): Core[] | null => {
    if (index === parts.length) return /^\s*$/.test(text.slice(at)) ? [] : null;
    const part = parts[index]!;
    const opener = open ? openerFor(open) : '';
    if (!part.startsWith(opener)) return null;
    const body = part.slice(opener.length);
    const last = index === parts.length - 1;
    for (let start = at; start <= text.length && (start === at || /\s/.test(text[start - 1]!)); start++) {
      // The core is the body, or the body without the closer of the block open at the cut; it
      // never ends with the line break of a cut.
      for (const core of new Set([body, body.replace(/\n(`{3,10}|~{3,10})$/, '')])) {
        if (core.endsWith('\n') || !text.startsWith(core, start)) continue;
        const end = start + core.length;
        const block = last ? null : blockAt(end);
        const fits = core === body ? !block : block !== null && body === core + closerFor(block);
        const rest = fits ? search(index + 1, end, block) : null;
        if (rest) return [{ start, end, at: opener.length }, ...rest];
      }
    }
    return null;
  };
  const found = search(0, 0, null);
  expect(found, 'the parts are pieces of the input, in order, with only whitespace between').not.toBeNull();
  return found ?? [];
}

// ---------------------------------------------------------------------------------------------
// Generators: tokens of hostile text, some repeated, joined.

const tag = fc.oneof(
  fc.constantFrom('', 'js', 'ts', 'typescript', 'c++', 'objective-c', 'python title="x.py"', ' rust', 'C#'),
  fc.integer({ min: 21, max: 400 }).map((n) => 'a'.repeat(n)),
  fc.constantFrom(
    '```',
    'js```',
    '~~~',
    '<script>alert(1)</script>',
    'tag with spaces',
    '🦇',
    'e\u0301',
    '`'.repeat(40),
    'x'.repeat(600),
    ' '.repeat(12),
    '\r',
  ),
);
const marker = fc.constantFrom('```', '```', '~~~', '````', '~~~~~', '`'.repeat(10), '`'.repeat(11), '``');
const indent = fc.constantFrom('', '', '  ', '    ', '\t', ' '.repeat(11));
const fenceLine = fc
  .tuple(indent, marker, tag, fc.boolean())
  .map(([pad, run, info, atLineStart]) => `${atLineStart ? '\n' : ''}${pad}${run}${info}\n`);
const closerLine = fc
  .tuple(marker, fc.constantFrom('', ' ', '\r', ' '.repeat(11)))
  .map(([run, pad]) => `\n${run}${pad}\n`);
const word = fc.constantFrom(
  'alpha',
  'the',
  'x',
  'Paragraph',
  'const',
  'value=1;',
  'naïve',
  'a`b',
  '``',
  '`',
);
const emoji = fc.constantFrom('👨‍👩‍👧‍👦', '🇫🇷', '🇺🇸🇯🇵', '👍🏽', '🏳️‍🌈', '❤️', '👩🏾‍💻', '🦇');
const combining = fc.constantFrom(
  'e\u0301',
  'a\u0300\u0316',
  'n\u0303',
  'Z\u0351\u036b\u0343\u036a\u0302\u036b\u033d',
);
const astral = fc.constantFrom('𝒜', '😀', '𠀋', '𝔘𝔫𝔦');
const space = fc.oneof(
  fc.constantFrom(' ', ' ', ' ', '  ', '\t', '\u00a0', '\u3000'),
  fc.integer({ min: 1, max: 300 }).map((n) => ' '.repeat(n)),
);
const newline = fc.constantFrom('\n', '\n', '\n\n', '\r\n', '\n\n\n', '\r');
const token = fc.oneof(
  { arbitrary: word, weight: 8 },
  { arbitrary: space, weight: 6 },
  { arbitrary: newline, weight: 4 },
  { arbitrary: fenceLine, weight: 2 },
  { arbitrary: closerLine, weight: 2 },
  { arbitrary: emoji, weight: 2 },
  { arbitrary: combining, weight: 2 },
  { arbitrary: astral, weight: 2 },
);
const chunk = fc.oneof(
  { arbitrary: token, weight: 6 },
  { arbitrary: fc.tuple(token, fc.integer({ min: 2, max: 60 })).map(([t, n]) => t.repeat(n)), weight: 1 },
);

/**
 * Paragraphs a little over half a part long, now and then with a token between them: cutting
 * at every paragraph break would take nearly twice the parts the bound allows.
 */
const paragraph = (limit: number) =>
  fc.oneof(
    {
      arbitrary: fc
        .integer({ min: Math.floor(limit / 2) + 1, max: Math.floor(limit * 0.55) })
        .map((n) => `${'word '.repeat(n / 5).trimEnd()}\n\n`),
      weight: 4,
    },
    { arbitrary: token, weight: 1 },
  );

/** Whole chunks, in order, while they fit in `max` units. */
function joinUpTo(chunks: string[], max: number): string {
  let text = '';
  for (const piece of chunks) {
    if (text.length + piece.length > max) break;
    text += piece;
  }
  return text;
}

/** A limit and a text up to a few parts long at that limit; most cases use small limits, to stay fast. */
const input = fc
  .oneof(
    { arbitrary: fc.integer({ min: 200, max: 300 }), weight: 9 },
    { arbitrary: fc.constant(2000), weight: 1 },
  )
  .chain((limit) =>
    fc.record({
      limit: fc.constant(limit),
      text: fc.oneof(
        {
          arbitrary: fc
            .array(chunk, { maxLength: limit === 2000 ? 300 : 80, size: 'max' })
            .map((chunks) => joinUpTo(chunks, limit === 2000 ? 5000 : limit * 4)),
          weight: 9,
        },
        {
          arbitrary: fc
            .array(paragraph(limit), { minLength: 4, maxLength: 12, size: 'max' })
            .map((chunks) => joinUpTo(chunks, limit * 6)),
          weight: 1,
        },
      ),
    }),
  );

/** Every part within the limit and not blank. */
function checkLimit(limit: number, parts: string[]) {
  for (const part of parts) {
    expect(part.length, 'a part is within the limit').toBeLessThanOrEqual(limit);
    expect(part, 'a part is not blank').toMatch(/\S/);
  }
}

/** At most ⌈length / (limit − 100)⌉ + 1 parts. */
function checkCount(text: string, limit: number, parts: string[]) {
  expect(parts.length, 'the number of parts').toBeLessThanOrEqual(Math.ceil(text.length / (limit - 100)) + 1);
}

/**
 * No part starts or ends with half a surrogate pair, each core starts and ends where a grapheme
 * does in the text, and each part reads as: the graphemes of the fence line added before the
 * core, the core's graphemes exactly as in the text, those of the fence line added after it.
 */
function checkGraphemes(text: string, parts: string[], cores: Core[]) {
  // (graphemeBoundaries is proven equal to Intl.Segmenter on the whole text in graphemes.test.ts.)
  const whole = graphemeBoundaries(text.trimEnd());
  cores.forEach(({ start, end, at }, index) => {
    const part = parts[index]!;
    expect(/^[\udc00-\udfff]|[\ud800-\udbff]$/.test(part), 'half a surrogate pair at a cut').toBe(false);
    expect(whole[start] === 1 && whole[end] === 1, 'a cut between graphemes').toBe(true);
    const after = at + end - start;
    const expected = [
      ...starts(graphemeBoundaries(part.slice(0, at)), 0),
      ...starts(whole.subarray(start, end + 1), at),
      ...starts(graphemeBoundaries(part.slice(after)), after),
    ];
    expect(starts(graphemeBoundaries(part), 0).join(), 'the graphemes of a part').toBe(expected.join());
  });
}

/** Every part's fences balanced; the last one's as balanced as the text's. */
function checkFences(text: string, parts: string[]) {
  parts.forEach((part, index) => {
    const last = index === parts.length - 1;
    expect(balanced(part), `the fences of part ${index}`).toBe(last ? balanced(text.trimEnd()) : true);
  });
}

describe('splitMessage properties', () => {
  // One run checks every property on each case (10,000 cases for each), so that the text is
  // generated and split once rather than five times.
  it('keeps parts within the limit and the count bound, graphemes whole, fences balanced, nothing lost', () => {
    fc.assert(
      fc.property(input, ({ text, limit }) => {
        const parts = splitMessage(text, limit);
        checkLimit(limit, parts);
        checkCount(text, limit, parts);
        // Nothing lost: locate finds every part's core in the text, in order, with only
        // whitespace between and around them (and the fence lines added exactly where cuts
        // fell inside a block).
        const cores = locate(text, parts);
        expect(cores).toHaveLength(parts.length);
        checkGraphemes(text, parts, cores);
        checkFences(text, parts);
      }),
      { numRuns: RUNS },
    );
  });
});
