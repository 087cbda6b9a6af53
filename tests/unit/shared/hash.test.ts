import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sha256, sha256File } from '../../../src/shared/hash.ts';
import { tempFolders } from '../../support/fixtures.ts';

const folders = tempFolders();
afterEach(() => folders.cleanup());

describe('sha256', () => {
  it('gives a file the digest of its bytes, however many chunks it is read in', async () => {
    const path = join(folders.folder(), 'adapter_model.safetensors');
    // Larger than a read stream's 64 KiB chunk, so it is hashed in several.
    const bytes = Buffer.alloc(200_000, 'ab');
    writeFileSync(path, bytes);
    expect(await sha256File(path)).toBe(sha256(bytes));
    expect(sha256('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });
});
