import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, open, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Replaces a file so that a crash or a power cut leaves either the old content or the new one,
 * never a torn mix: the new content goes to a temporary file in the same folder, is flushed to
 * disk, renamed over the target, and the folder itself is flushed so the rename survives.
 *
 * `write-file-atomic` does the first three steps but not the folder's fsync, which is what keeps
 * `codex.toml` after a power cut right after an approval; hence this helper.
 *
 * The steps are written once, as a sequence of file-system operations (`durableWriteSteps`);
 * `writeFileDurably` carries them out synchronously, `writeFileDurablyAsync` on the thread pool,
 * so the two forms cannot drift apart.
 */

/**
 * What a durable write puts in the temporary file: text or bytes, or a function that writes the
 * file itself (a library that only writes to a path, such as hnswlib's `writeIndex`).
 */
type Content<Written> = string | Uint8Array | ((temporaryPath: string) => Written);

/** One file-system operation of a durable write. */
type Step =
  | { op: 'mkdir'; path: string }
  | { op: 'write'; path: string; content: Content<unknown> }
  | { op: 'fsync'; path: string; flags: 'r' | 'r+' }
  | { op: 'rename'; path: string; to: string }
  | { op: 'remove'; path: string }
  | { op: 'check'; run: () => void };

/** A sequence of steps; a step that fails is thrown back into it, where it may be handled. */
type Steps = Generator<Step, void, void>;

/**
 * Replaces `path` with `content` durably, blocking until it is on disk. `beforeRename`, when
 * given, runs once the new content is flushed and just before it replaces the old: throwing from
 * it leaves the old file as it is (the codex is never written over an edit it did not read).
 */
export function writeFileDurably(path: string, content: Content<void>, beforeRename?: () => void): void {
  runSync(durableWriteSteps(path, content, beforeRename));
}

/** Replaces `path` with `content` durably, off the event loop; resolves once it is on disk. */
export function writeFileDurablyAsync(path: string, content: Content<Promise<void> | void>): Promise<void> {
  return runAsync(durableWriteSteps(path, content));
}

/** Flushes a folder's entries (a rename, a new file) to disk. */
export function syncFolder(folder: string): void {
  runSync(folderSyncSteps(folder));
}

function* durableWriteSteps(path: string, content: Content<unknown>, beforeRename?: () => void): Steps {
  const folder = dirname(path);
  yield { op: 'mkdir', path: folder };
  const temporary = join(folder, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    yield { op: 'write', path: temporary, content };
    yield { op: 'fsync', path: temporary, flags: 'r+' };
    if (beforeRename) yield { op: 'check', run: beforeRename };
    yield { op: 'rename', path: temporary, to: path };
  } catch (error) {
    yield { op: 'remove', path: temporary };
    throw error;
  }
  yield* folderSyncSteps(folder);
}

function* folderSyncSteps(folder: string): Steps {
  try {
    yield { op: 'fsync', path: folder, flags: 'r' };
  } catch (error) {
    // Some platforms (Windows) cannot open a folder for fsync; the rename is still atomic there.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL') throw error;
  }
}

function runSync(steps: Steps): void {
  for (let next = steps.next(); !next.done; ) {
    try {
      performSync(next.value);
    } catch (error) {
      next = steps.throw(error);
      continue;
    }
    next = steps.next();
  }
}

async function runAsync(steps: Steps): Promise<void> {
  for (let next = steps.next(); !next.done; ) {
    try {
      await performAsync(next.value);
    } catch (error) {
      next = steps.throw(error);
      continue;
    }
    next = steps.next();
  }
}

function performSync(step: Step): void {
  switch (step.op) {
    case 'mkdir':
      mkdirSync(step.path, { recursive: true });
      return;
    case 'write':
      if (typeof step.content === 'function') step.content(step.path);
      else writeFileSync(step.path, step.content);
      return;
    case 'fsync': {
      const fd = openSync(step.path, step.flags);
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      return;
    }
    case 'rename':
      renameSync(step.path, step.to);
      return;
    case 'remove':
      rmSync(step.path, { force: true });
      return;
    case 'check':
      step.run();
  }
}

async function performAsync(step: Step): Promise<void> {
  switch (step.op) {
    case 'mkdir':
      await mkdir(step.path, { recursive: true });
      return;
    case 'write':
      if (typeof step.content === 'function') await step.content(step.path);
      else await writeFile(step.path, step.content);
      return;
    case 'fsync': {
      const handle = await open(step.path, step.flags);
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      return;
    }
    case 'rename':
      await rename(step.path, step.to);
      return;
    case 'remove':
      await rm(step.path, { force: true });
      return;
    case 'check':
      step.run();
  }
}
