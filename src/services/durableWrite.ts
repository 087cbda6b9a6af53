import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * Replaces a file so that a crash or a power cut leaves either the old content or the new one,
 * never a torn mix: the new content goes to a temporary file in the same folder, is flushed to
 * disk, renamed over the target, and the folder itself is flushed so the rename survives.
 *
 * `write-file-atomic` does the first three steps but not the folder's fsync, which is what keeps
 * `codex.toml` after a power cut right after an approval; hence this helper.
 *
 * `content` is the text or bytes, or a function that writes the temporary file itself (a
 * library that only writes to a path, such as hnswlib's `writeIndexSync`).
 */
export function writeFileDurably(
  path: string,
  content: string | Uint8Array | ((temporaryPath: string) => void),
): void {
  const folder = dirname(path);
  mkdirSync(folder, { recursive: true });
  const temporary = join(folder, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    if (typeof content === 'function') content(temporary);
    else writeFileSync(temporary, content);
    syncPath(temporary, 'r+');
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
  syncFolder(folder);
}

/** Flushes a folder's entries (a rename, a new file) to disk. */
export function syncFolder(folder: string): void {
  try {
    syncPath(folder, 'r');
  } catch (error) {
    // Some platforms (Windows) cannot open a folder for fsync; the rename is still atomic there.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL') throw error;
  }
}

function syncPath(path: string, flags: string): void {
  const fd = openSync(path, flags);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
