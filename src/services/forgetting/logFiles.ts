import {
  closeSync,
  existsSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readdirSync,
  readFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { type Forgotten, jsonNeedles } from './forgotten.ts';

/**
 * `/memory forget` in the log files the project writes under `DATA_DIR` (the terminal programs'
 * `DATA_DIR/logs/<name>.log`, one JSON record a line). A record may carry a dialogue's words (the
 * forge logs the spec it refused, a fine-tune the judge's unreadable verdict): every line that
 * names the forgotten conversation or its records, or holds their words, goes. The file is
 * rewritten in place, not replaced: a terminal program writing to it keeps writing to it.
 */

const NEWLINE = 0x0a;

/** Drops the forgotten dialogues' lines from every log file in `dir`; returns how many went. */
export function forgetInLogFiles(dir: string, forgotten: Forgotten): number {
  if (!existsSync(dir)) return 0;
  const needles = [
    Buffer.from(JSON.stringify(forgotten.conversationId)),
    ...jsonNeedles(forgotten, { texts: true }),
  ];
  const drops = (line: Buffer) => needles.some((needle) => line.includes(needle));
  let dropped = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isFile() && entry.name.includes('.log')) dropped += dropLines(join(dir, entry.name), drops);
  }
  return dropped;
}

/** Rewrites a file in place without the lines `drops` picks (an unfinished last line too); returns how many. */
function dropLines(path: string, drops: (line: Buffer) => boolean): number {
  const data = readFileSync(path);
  const kept: Buffer[] = [];
  let dropped = 0;
  let start = 0;
  while (start < data.length) {
    const newline = data.indexOf(NEWLINE, start);
    const end = newline === -1 ? data.length : newline + 1;
    const line = data.subarray(start, end);
    if (drops(line)) dropped++;
    else kept.push(line);
    start = end;
  }
  if (dropped === 0) return 0;
  const content = Buffer.concat(kept);
  const fd = openSync(path, 'r+');
  try {
    for (let written = 0; written < content.length; )
      written += writeSync(fd, content, written, content.length - written, written);
    ftruncateSync(fd, content.length);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return dropped;
}
