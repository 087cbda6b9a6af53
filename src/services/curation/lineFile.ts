import {
  closeSync,
  createReadStream,
  existsSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readSync,
  statSync,
  writeSync,
} from 'node:fs';
import { writeFileDurably } from '../durableWrite.ts';

/**
 * Line-by-line access to the golden sets' JSONL files. A line is whole once its newline is on
 * disk: a torn tail (a kill in the middle of an append) is never read as a line, and `cutTornTail`
 * removes it at the next start.
 */

const NEWLINE = 0x0a;
const CHUNK = 1 << 20;

/** Calls `visit` with each complete line of a file (without its newline); a torn tail is no line. */
export function forEachLine(
  path: string,
  visit: (line: Buffer) => void,
  limit = Number.POSITIVE_INFINITY,
): void {
  if (!existsSync(path)) return;
  const fd = openSync(path, 'r');
  try {
    const chunk = Buffer.allocUnsafe(CHUNK);
    let carry = Buffer.alloc(0);
    let seen = 0;
    for (;;) {
      const read = readSync(fd, chunk, 0, CHUNK, null);
      if (read === 0) return;
      const data = carry.length ? Buffer.concat([carry, chunk.subarray(0, read)]) : chunk.subarray(0, read);
      let start = 0;
      for (let end = data.indexOf(NEWLINE); end !== -1; end = data.indexOf(NEWLINE, start)) {
        visit(data.subarray(start, end));
        start = end + 1;
        if (++seen >= limit) return;
      }
      carry = Buffer.from(data.subarray(start));
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * The complete lines of a file (without their newlines), read as a stream: the event loop turns
 * between chunks. A torn tail is no line; no file, no lines.
 */
export async function* wholeLines(path: string): AsyncGenerator<string> {
  let carry = Buffer.alloc(0);
  try {
    for await (const chunk of createReadStream(path)) {
      const data = carry.length ? Buffer.concat([carry, chunk as Buffer]) : (chunk as Buffer);
      let start = 0;
      for (let end = data.indexOf(NEWLINE); end !== -1; end = data.indexOf(NEWLINE, start)) {
        yield data.toString('utf8', start, end);
        start = end + 1;
      }
      carry = Buffer.from(data.subarray(start));
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/** Writes all of `bytes` at the file position of `fd`. */
function writeAll(fd: number, bytes: Buffer): void {
  for (let written = 0; written < bytes.length; ) {
    written += writeSync(fd, bytes, written, bytes.length - written);
  }
}

/** Appends bytes and flushes them to disk before returning. */
export function appendDurably(path: string, bytes: Buffer): void {
  const fd = openSync(path, 'a');
  try {
    writeAll(fd, bytes);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Cuts a file after its last newline; returns the bytes cut (0 when it ended whole). */
export function cutTornTail(path: string): number {
  const size = statSync(path).size;
  if (size === 0) return 0;
  const fd = openSync(path, 'r+');
  try {
    const buffer = Buffer.allocUnsafe(64 * 1024);
    let end = size;
    let keep = 0;
    let first = true;
    while (end > 0) {
      const start = Math.max(0, end - buffer.length);
      const read = readSync(fd, buffer, 0, end - start, start);
      const at = buffer.subarray(0, read).lastIndexOf(NEWLINE);
      if (first && at === read - 1) return 0;
      first = false;
      if (at !== -1) {
        keep = start + at + 1;
        break;
      }
      end = start;
    }
    ftruncateSync(fd, keep);
    fsyncSync(fd);
    return size - keep;
  } finally {
    closeSync(fd);
  }
}

/**
 * Rewrites a file without the lines `drops` picks (a durable rewrite); returns how many went. A
 * first read counts them, so a file that loses nothing is never rewritten.
 */
export function rewriteWithout(file: string, drops: (line: Buffer) => boolean): number {
  let dropped = 0;
  forEachLine(file, (line) => {
    if (drops(line)) dropped++;
  });
  if (dropped === 0) return 0;
  writeFileDurably(file, (temporary) => {
    const fd = openSync(temporary, 'w');
    try {
      let pending: Buffer[] = [];
      let size = 0;
      const write = () => {
        writeAll(fd, Buffer.concat(pending));
        pending = [];
        size = 0;
      };
      forEachLine(file, (line) => {
        if (drops(line)) return;
        pending.push(Buffer.from(line), Buffer.from('\n'));
        size += line.length + 1;
        if (size >= CHUNK) write();
      });
      write();
    } finally {
      closeSync(fd);
    }
  });
  return dropped;
}

/** The file, whole lines only, or its last whole lines within `maxBytes` (`whole: false`). */
export function tailOfWholeLines(path: string, maxBytes: number): { data: Buffer; whole: boolean } {
  if (!existsSync(path)) return { data: Buffer.alloc(0), whole: true };
  const size = statSync(path).size;
  const fd = openSync(path, 'r');
  try {
    const length = Math.min(size, maxBytes);
    const data = Buffer.allocUnsafe(length);
    readSync(fd, data, 0, length, size - length);
    // Whole lines only: not the piece of a line before the window, nor a torn tail.
    const start = length < size ? data.indexOf(NEWLINE) + 1 : 0;
    const end = data.lastIndexOf(NEWLINE) + 1;
    return { data: Buffer.from(data.subarray(start, Math.max(start, end))), whole: length === size };
  } finally {
    closeSync(fd);
  }
}

/** At least the last `n` whole lines of a file (fewer when it has fewer), oldest first; none when n ≤ 0. */
export function lastLines(path: string, n: number): string[] {
  if (n <= 0 || !existsSync(path)) return [];
  // Reads back from the end until n whole lines are in hand.
  const fd = openSync(path, 'r');
  try {
    const size = statSync(path).size;
    let end = size;
    let text = Buffer.alloc(0);
    while (end > 0) {
      const start = Math.max(0, end - 64 * 1024);
      const buffer = Buffer.allocUnsafe(end - start);
      readSync(fd, buffer, 0, buffer.length, start);
      text = Buffer.concat([buffer, text]);
      end = start;
      if (text.toString('utf8').split('\n').length > n + 1) break;
    }
    const lines = text.toString('utf8').split('\n');
    // The last piece has no newline after it: empty when the file ends whole, torn otherwise.
    lines.pop();
    if (end > 0) lines.shift();
    return lines;
  } finally {
    closeSync(fd);
  }
}
