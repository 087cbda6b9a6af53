import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/fixtures.ts';
import { readTree } from './importGraph.ts';
import { checkSizes, MAX_FILE_LINES, MAX_FUNCTION_LINES } from './sizes.ts';

const tree = readTree(REPO_ROOT);

/** A function of `lines` lines, with `above` written just above it. */
function longFunction(lines: number, above = ''): string {
  const body = Array.from({ length: lines - 2 }, (_, i) => `  const v${i} = ${i};`).join('\n');
  return `${above}export function long(): void {\n${body}\n}\n`;
}

describe('the house’s size rules', () => {
  it('hold for src/ and commands/: no file over 400 lines, no function over 120, without its reason', () => {
    expect(checkSizes(tree)).toEqual([]);
  });

  it('refuse a function over the limit, at any depth, named', () => {
    const nested = `export const outer = () => {\n  ${longFunction(MAX_FUNCTION_LINES + 1).replace('export ', '')}};\n`;
    expect(checkSizes(new Map([['src/a.ts', longFunction(MAX_FUNCTION_LINES + 1)]]))).toEqual([
      expect.objectContaining({
        path: 'src/a.ts',
        line: 1,
        message: expect.stringMatching(/long has 121 lines/),
      }),
    ]);
    expect(checkSizes(new Map([['src/b.ts', nested]])).map((v) => v.message)).toEqual([
      expect.stringMatching(/outer has 123 lines/),
      expect.stringMatching(/long has 121 lines/),
    ]);
    expect(checkSizes(new Map([['src/c.ts', longFunction(MAX_FUNCTION_LINES)]]))).toEqual([]);
  });

  it('accept a long function whose reason is written above it', () => {
    const reasoned = longFunction(
      MAX_FUNCTION_LINES + 5,
      '/** Longer than 120 lines because it is one table. */\n',
    );
    expect(checkSizes(new Map([['src/a.ts', reasoned]]))).toEqual([]);
  });

  it('refuse a file over 400 lines, unless it says at its top why', () => {
    const filler = Array.from({ length: MAX_FILE_LINES + 1 }, (_, i) => `export const c${i} = ${i};`).join(
      '\n',
    );
    expect(checkSizes(new Map([['src/big.ts', filler]]))).toEqual([
      expect.objectContaining({ path: 'src/big.ts', message: expect.stringMatching(/has 401 lines/) }),
    ]);
    const reasoned = `// This file is longer than 400 lines because it is generated.\n${filler}`;
    expect(checkSizes(new Map([['src/big.ts', reasoned]]))).toEqual([]);
    // A reason further down does not count.
    expect(
      checkSizes(new Map([['src/big.ts', `${filler}\n// longer than 400 lines because …`]])),
    ).toHaveLength(1);
  });
});
