import { describe, expect, it } from 'vitest';
import { CappedLines } from '../../../../src/services/finetune/cappedLines.ts';

/** What a splitter with a cap of `maxBytes` makes of `chunks`. */
function split(chunks: Array<string | Buffer>, maxBytes = 8) {
  const seen: string[] = [];
  const lines = new CappedLines({
    maxBytes,
    onLine: (line) => seen.push(line),
    onOverlong: (bytes, head) => seen.push(`cut ${bytes} ${head.slice(0, 3)}`),
  });
  for (const chunk of chunks) lines.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  lines.end();
  return seen;
}

describe('CappedLines', () => {
  it('splits lines across chunks, drops line endings, and keeps a last line without a newline', () => {
    expect(split(['ab', 'c\nde\r', '\n\nfg'])).toEqual(['abc', 'de', '', 'fg']);
  });

  it('keeps a line of exactly the cap, with or without a carriage return, and cuts one byte more', () => {
    expect(split(['12345678\n', '12345678\r\n', '123456789\n'])).toEqual([
      '12345678',
      '12345678',
      'cut 9 123',
    ]);
  });

  it('reports an over-long line once, with its whole length, however many chunks it came in', () => {
    const chunks = [...Array.from({ length: 100 }, () => 'x'.repeat(10)), '\nnext\n'];
    expect(split(chunks)).toEqual(['cut 1000 xxx', 'next']);
  });

  it('cuts a line that the stream ends inside', () => {
    expect(split(['a\n', 'y'.repeat(20)])).toEqual(['a', 'cut 20 yyy']);
  });

  it('decodes a character split between two chunks', () => {
    const bytes = Buffer.from('é\n');
    expect(split([bytes.subarray(0, 1), bytes.subarray(1)])).toEqual(['é']);
  });
});
