import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** Bytes used by a file or folder (recursively); 0 when it does not exist. */
export async function diskUsage(path: string): Promise<number> {
  try {
    const info = await stat(path);
    if (!info.isDirectory()) return info.size;
    const entries = await readdir(path);
    const sizes = await Promise.all(entries.map((entry) => diskUsage(join(path, entry))));
    return sizes.reduce((sum, size) => sum + size, 0);
  } catch {
    return 0;
  }
}
