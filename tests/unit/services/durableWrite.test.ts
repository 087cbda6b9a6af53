import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeFileDurably, writeFileDurablyAsync } from '../../../src/services/durableWrite.ts';
import { tempFolders } from '../../support/fixtures.ts';

const folders = tempFolders();
afterEach(() => folders.cleanup());

describe('a durable write', () => {
  it('replaces a file, making its folder, and leaves no temporary file, in both forms', async () => {
    const dir = join(folders.folder(), 'nested');
    const path = join(dir, 'codex.toml');
    writeFileDurably(path, 'version = 1\n');
    expect(readFileSync(path, 'utf8')).toBe('version = 1\n');
    writeFileDurably(path, (temporary) => writeFileSync(temporary, 'version = 2\n'));
    expect(readFileSync(path, 'utf8')).toBe('version = 2\n');
    await writeFileDurablyAsync(path, new TextEncoder().encode('version = 3\n'));
    expect(readFileSync(path, 'utf8')).toBe('version = 3\n');
    await writeFileDurablyAsync(path, (temporary) => writeFile(temporary, 'version = 4\n'));
    expect(readFileSync(path, 'utf8')).toBe('version = 4\n');
    expect(readdirSync(dir)).toEqual(['codex.toml']);
  });

  it('keeps the old content when the check just before the rename refuses, and leaves no temporary file', () => {
    const dir = folders.folder();
    const path = join(dir, 'codex.toml');
    writeFileDurably(path, 'version = 1\n');
    let checked = '';
    expect(() =>
      writeFileDurably(path, 'version = 2\n', () => {
        // The new content is flushed, the old still in place.
        checked = readFileSync(path, 'utf8');
        throw new Error('changed since it was read');
      }),
    ).toThrow('changed since it was read');
    expect(checked).toBe('version = 1\n');
    expect(readFileSync(path, 'utf8')).toBe('version = 1\n');
    expect(readdirSync(dir)).toEqual(['codex.toml']);
    writeFileDurably(path, 'version = 2\n', () => undefined);
    expect(readFileSync(path, 'utf8')).toBe('version = 2\n');
  });

  it('keeps the old content and removes the temporary file when writing fails, in both forms', async () => {
    const dir = folders.folder();
    const path = join(dir, 'index.hnsw');
    writeFileDurably(path, 'old');
    expect(() =>
      writeFileDurably(path, (temporary) => {
        writeFileSync(temporary, 'half');
        throw new Error('disk full');
      }),
    ).toThrow('disk full');
    await expect(
      writeFileDurablyAsync(path, async (temporary) => {
        await writeFile(temporary, 'half');
        throw new Error('disk full');
      }),
    ).rejects.toThrow('disk full');
    expect(readFileSync(path, 'utf8')).toBe('old');
    expect(readdirSync(dir)).toEqual(['index.hnsw']);
  });

  it('fails when the writer leaves no file to flush, and the target stays as it was', async () => {
    const dir = folders.folder();
    const path = join(dir, 'snapshot.hnsw');
    await expect(writeFileDurablyAsync(path, async () => undefined)).rejects.toMatchObject({
      code: 'ENOENT',
    });
    expect(() => writeFileDurably(path, () => undefined)).toThrow(/ENOENT/);
    expect(readdirSync(dir)).toEqual([]);
  });
});
