import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  cutTornTail,
  forEachLine,
  lastLines,
  rewriteWithout,
  tailOfWholeLines,
  wholeLines,
} from '../../../../src/services/curation/lineFile.ts';
import { tempFolders } from '../../../support/fixtures.ts';

const folders = tempFolders();
afterEach(() => folders.cleanup());

function fileWith(text: string): string {
  const path = join(folders.folder(), 'set.jsonl');
  writeFileSync(path, text);
  return path;
}

describe('the golden sets’ line files', () => {
  it('read whole lines only: a torn tail is no line, until it is cut', () => {
    const path = fileWith('a\nb\ntorn');
    const lines: string[] = [];
    forEachLine(path, (line) => lines.push(line.toString('utf8')));
    expect(lines).toEqual(['a', 'b']);
    expect(lastLines(path, 5)).toEqual(['a', 'b']);
    expect(cutTornTail(path)).toBe(4);
    expect(readFileSync(path, 'utf8')).toBe('a\nb\n');
    expect(cutTornTail(path)).toBe(0);
  });

  it('read back at least the last n lines from the end of a file bigger than a read', () => {
    const line = 'x'.repeat(1000);
    const path = fileWith(Array.from({ length: 200 }, (_, i) => `${i}${line}\n`).join(''));
    const last = lastLines(path, 3);
    expect(last.length).toBeGreaterThanOrEqual(3);
    expect(last.slice(-3).map((l) => Number.parseInt(l, 10))).toEqual([197, 198, 199]);
    expect(lastLines(path, 0)).toEqual([]);
    expect(lastLines(join(folders.folder(), 'none.jsonl'), 3)).toEqual([]);
  });

  it('give the last whole lines that fit a window, and say when that is not the whole file', () => {
    const path = fileWith('first\nsecond\nthird\n');
    expect(tailOfWholeLines(path, 1000)).toEqual({
      data: Buffer.from('first\nsecond\nthird\n'),
      whole: true,
    });
    expect(tailOfWholeLines(path, 10).data.toString('utf8')).toBe('third\n');
    expect(tailOfWholeLines(path, 10).whole).toBe(false);
  });

  it('rewrite a file without the lines dropped, and leave one that loses nothing as it was', () => {
    const path = fileWith('keep 1\ndrop\nkeep 2\n');
    const inode = statSync(path).ino;
    expect(rewriteWithout(path, (line) => line.toString('utf8') === 'gone')).toBe(0);
    expect(statSync(path).ino).toBe(inode);
    expect(rewriteWithout(path, (line) => line.toString('utf8') === 'drop')).toBe(1);
    expect(readFileSync(path, 'utf8')).toBe('keep 1\nkeep 2\n');
  });

  it('stream whole lines only, across read chunks, with none for a missing file', async () => {
    const long = 'é'.repeat(100_000);
    const path = fileWith(`one\n${long}\n\nthree\ntorn`);
    const lines: string[] = [];
    for await (const line of wholeLines(path)) lines.push(line);
    expect(lines).toEqual(['one', long, '', 'three']);
    const none: string[] = [];
    for await (const line of wholeLines(join(folders.folder(), 'missing.jsonl'))) none.push(line);
    expect(none).toEqual([]);
  });
});
