import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseCodex } from '../../src/services/codex/loadCodex.ts';
import { VectorIndex } from '../../src/services/memory/vectorIndex.ts';
import { crashRepeatedly } from '../support/crash.ts';
import { tempFolders, writeTestCodex } from '../support/fixtures.ts';

const folders = tempFolders();
afterEach(() => folders.cleanup());

describe('a kill -9 in the middle of a write', () => {
  it('leaves the codex and the memory index old or new, never torn', async () => {
    const folder = folders.folder();
    const codexPath = writeTestCodex(folder);
    let lastVersion = 1;
    let lastSize = 0;
    const result = await crashRepeatedly({
      script: 'tests/support/scripts/durableWriter.ts',
      args: () => [folder, codexPath],
      kills: 12,
      check(_attempt, completed) {
        const codex = parseCodex(readFileSync(codexPath, 'utf8'), codexPath);
        const written = completed.filter((l) => l.startsWith('codex ')).map((l) => Number(l.slice(6)));
        // The newest completed write, or the one in flight when the kill came.
        expect([written.at(-1) ?? lastVersion, (written.at(-1) ?? lastVersion) + 1]).toContain(
          codex.data.version,
        );
        lastVersion = codex.data.version;
        const index = new VectorIndex({ dir: join(folder, 'memory') });
        expect(index.load()).not.toBe('corrupt');
        const sizes = completed.filter((l) => l.startsWith('index ')).map((l) => Number(l.slice(6)));
        expect(index.size).toBeGreaterThanOrEqual(sizes.at(-1) ?? lastSize);
        lastSize = index.size;
      },
    });
    expect(result.kills).toBe(12);
    expect(lastVersion).toBeGreaterThan(1);
  });
});
