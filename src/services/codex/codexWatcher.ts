import {
  type FSWatcher,
  lstatSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  statSync,
  watch,
} from 'node:fs';
import { dirname, resolve, sep } from 'node:path';
import type { Clock } from '../clock.ts';
import type { Logger } from '../logger.ts';
import { codexTooLargeMessage, MAX_CODEX_FILE_BYTES } from './loadCodex.ts';

/**
 * Notices when the operator edits the codex file on the host, and hands over only whole files:
 *
 * - It watches folders, not the file: editors save by writing a new file and renaming it over
 *   the old, and a mounted config (Kubernetes' ConfigMap) swaps a `..data` link to a new folder,
 *   both of which a watch on the file's inode misses. The folders are those of every link on the
 *   way from the codex path to the real file; after each change the path is resolved again, and
 *   the watches follow it.
 * - It waits until the edits settle (no event for `debounceMs`), then until the file is still:
 *   its size and modification time the same in two looks `stillMs` apart. A file still being
 *   written is never read.
 * - A file over {@link MAX_CODEX_FILE_BYTES} is refused unread, with the file, its size and the
 *   limit.
 */
export interface CodexWatcher {
  close(): void;
}

/** How long the file must stay quiet before an edit counts (editors write in bursts). */
export const CODEX_DEBOUNCE_MS = 500;

/** Something watched that can be closed: Node's `FSWatcher`, or a test's own. */
export interface FolderWatch {
  close(): void;
}

/**
 * Watches one folder: `onEvent` with the name of the entry that changed (null when the platform
 * does not say), `onError` when the watch fails (the folder was removed, say).
 */
export type WatchFolder = (
  folder: string,
  onEvent: (entry: string | null) => void,
  onError: (error: Error) => void,
) => FolderWatch;

export interface CodexWatchOptions {
  path: string;
  clock: Clock;
  logger: Logger;
  /** Quiet time after the last event before the file is looked at (default 500 ms). */
  debounceMs?: number;
  /** Time between the two looks that must agree before the file is read (default: `debounceMs`). */
  stillMs?: number;
  /** The largest file read, in bytes (default 1 MiB). */
  maxBytes?: number;
  /** A settled, whole file that differs from the last one handed over. */
  onEdit: (text: string) => void;
  /** Why a changed file was not read (too large), for the operator. */
  onRefused?: (problems: string[]) => void;
  /** How a folder is watched (default: Node's `fs.watch`). */
  watchFolder?: WatchFolder;
}

/** What identifies a version of the file without reading it. */
interface Fingerprint {
  /** The real file the path leads to, links followed. */
  real: string;
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
}

const nodeWatchFolder: WatchFolder = (folder, onEvent, onError) => {
  const watcher: FSWatcher = watch(folder, { persistent: false }, (_event, entry) => onEvent(entry));
  watcher.on('error', onError);
  return watcher;
};

/** The file as it is now, links followed; undefined when it is not there (mid-rename, mid-swap). */
function fingerprintOf(path: string): Fingerprint | undefined {
  try {
    const real = realpathSync(path);
    const { ino, size, mtimeMs, ctimeMs } = statSync(real);
    return { real, ino, size, mtimeMs, ctimeMs };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Whether two looks saw the file keep still: the same file, the same size and time. */
const still = (a: Fingerprint, b: Fingerprint) =>
  a.real === b.real && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;

const same = (a: Fingerprint | undefined, b: Fingerprint | undefined) =>
  a !== undefined && b !== undefined && still(a, b) && a.ctimeMs === b.ctimeMs;

/** A folder as the file system knows it (links followed), or as written when it is not there. */
function realFolder(folder: string): string {
  try {
    return realpathSync(folder);
  } catch {
    return folder;
  }
}

/**
 * The folders to watch for `path`, and the entry names in them that matter: every link on the
 * way to the real file (a link may point through a linked folder, as `..data/codex.toml` does),
 * and the real file itself.
 */
export function codexWatchPlan(path: string): { folders: string[]; entries: Set<string> } {
  const folders = new Set<string>();
  const entries = new Set<string>();
  const note = (file: string) => {
    folders.add(realFolder(dirname(file)));
    for (const part of file.split(sep)) if (part) entries.add(part);
  };
  let hop = resolve(path);
  for (let links = 0; links < 40; links++) {
    note(hop);
    try {
      if (!lstatSync(hop).isSymbolicLink()) break;
      hop = resolve(dirname(hop), readlinkSync(hop));
    } catch {
      break;
    }
  }
  try {
    note(realpathSync(path));
  } catch {
    // Not there now (mid-swap): the folders of the links found are watched, and the next event re-plans.
  }
  return { folders: [...folders], entries };
}

/** The watcher's state: the folders watched, the check under way, the last file handed over. */
class Watch implements CodexWatcher {
  private readonly log: Logger;
  private readonly folders = new Map<string, FolderWatch>();
  private entries = new Set<string>();
  private settle: AbortController | undefined;
  private last: Fingerprint | undefined;
  private closed = false;

  constructor(private readonly options: CodexWatchOptions) {
    this.log = options.logger.child({ module: 'codex-watcher' });
  }

  start(): this {
    const home = realFolder(dirname(resolve(this.options.path)));
    this.rewatch();
    if (!this.folders.has(home))
      this.log.warn({ path: this.options.path }, 'cannot watch the codex; edits on the host need a restart');
    return this;
  }

  close(): void {
    this.closed = true;
    this.settle?.abort();
    for (const watcher of this.folders.values()) watcher.close();
    this.folders.clear();
  }

  /** Watches the folders the codex path now leads through, and no others. */
  private rewatch(): void {
    const plan = codexWatchPlan(this.options.path);
    this.entries = plan.entries;
    for (const [folder, watcher] of this.folders) {
      if (plan.folders.includes(folder)) continue;
      watcher.close();
      this.folders.delete(folder);
    }
    const watchFolder = this.options.watchFolder ?? nodeWatchFolder;
    for (const folder of plan.folders) {
      if (this.folders.has(folder)) continue;
      try {
        this.folders.set(
          folder,
          watchFolder(
            folder,
            (entry) => this.changed(entry),
            (error) => this.lost(folder, error),
          ),
        );
      } catch (error) {
        this.log.warn({ err: error, folder }, 'cannot watch a folder of the codex path');
      }
    }
  }

  /** A watch failed (its folder went away with a swapped link): watch again from the path. */
  private lost(folder: string, error: Error): void {
    this.folders.get(folder)?.close();
    this.folders.delete(folder);
    this.log.debug({ err: error, folder }, 'a watch of the codex path ended; watching again');
    this.changed(null);
  }

  /** Something changed in a watched folder: look again once it settles (a later event starts over). */
  private changed(entry: string | null): void {
    if (this.closed || (entry !== null && !this.entries.has(entry))) return;
    this.settle?.abort();
    const current = new AbortController();
    this.settle = current;
    this.check(current.signal).catch((error: unknown) => {
      if (current.signal.aborted) return;
      this.log.warn({ err: error, path: this.options.path }, 'the codex could not be read after an edit');
    });
  }

  private async check(signal: AbortSignal): Promise<void> {
    const { clock, path } = this.options;
    const debounceMs = this.options.debounceMs ?? CODEX_DEBOUNCE_MS;
    await clock.sleep(debounceMs, signal);
    this.rewatch();
    const seen = await this.stillFile(signal, this.options.stillMs ?? debounceMs);
    // Gone (mid-rename, deleted): the next event brings it back. Or nothing changed since last time.
    if (!seen || same(seen, this.last)) return;
    const limit = this.options.maxBytes ?? MAX_CODEX_FILE_BYTES;
    if (seen.size > limit) {
      this.last = seen;
      const problem = codexTooLargeMessage(path, seen.size, limit);
      this.log.warn({ path, bytes: seen.size, limit }, `${problem} The codex in force stays.`);
      this.options.onRefused?.([problem]);
      return;
    }
    const text = readFileSync(seen.real, 'utf8');
    // Written to while it was read: look again once it is still.
    if (!same(fingerprintOf(path), seen)) return this.changed(null);
    this.last = seen;
    this.options.onEdit(text);
  }

  /** The file once two looks `stillMs` apart agree; undefined when it is not there. */
  private async stillFile(signal: AbortSignal, stillMs: number): Promise<Fingerprint | undefined> {
    let before = fingerprintOf(this.options.path);
    for (;;) {
      if (!before) return undefined;
      await this.options.clock.sleep(stillMs, signal);
      const now = fingerprintOf(this.options.path);
      if (now && still(before, now)) return now;
      before = now;
    }
  }
}

/** Starts watching the codex at `path`; see {@link CodexWatcher}. */
export function watchCodex(options: CodexWatchOptions): CodexWatcher {
  return new Watch(options).start();
}
