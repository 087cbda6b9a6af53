/**
 * Splits what a child process writes into lines without ever holding more than a bounded part of
 * one line: a trainer that prints a 700 MB line without a newline must not take the bot's memory
 * with it. A line longer than the cap is cut: its first bytes are kept for the log, the rest is
 * dropped as it arrives, and it is reported once, with its length, when its newline comes (or
 * the stream ends).
 */

/** The longest line kept whole, in bytes (64 KB): an event line is a few hundred. */
export const MAX_LINE_BYTES = 64 * 1024;

export interface CappedLinesOptions {
  /** Longest line kept, in bytes (default {@link MAX_LINE_BYTES}). */
  maxBytes?: number;
  /** Each line within the cap, without its line ending. */
  onLine(line: string): void;
  /** Each line over the cap, once: its whole length in bytes and its first bytes as text. */
  onOverlong(bytes: number, head: string): void;
}

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

export class CappedLines {
  private readonly maxBytes: number;
  /** The kept bytes of the line under way (at most `maxBytes` of them). */
  private pieces: Buffer[] = [];
  private kept = 0;
  /** Bytes of the line under way, kept or dropped. */
  private length = 0;

  constructor(private readonly options: CappedLinesOptions) {
    this.maxBytes = options.maxBytes ?? MAX_LINE_BYTES;
  }

  /** Takes the next bytes of the stream. */
  push(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(NEWLINE, start);
      this.take(chunk.subarray(start, newline === -1 ? chunk.length : newline));
      if (newline === -1) return;
      this.finish();
      start = newline + 1;
    }
  }

  /** The stream ended: a last line without a newline is a line too. */
  end(): void {
    if (this.length > 0) this.finish();
  }

  private take(piece: Buffer): void {
    this.length += piece.length;
    const room = this.maxBytes + 1 - this.kept;
    if (room <= 0 || piece.length === 0) return;
    // A copy: a slice would keep the whole chunk it came from alive. One byte past the cap is
    // kept so that a line ending in `\r` right at the cap is still told from a longer one.
    const kept = Buffer.from(piece.subarray(0, room));
    this.pieces.push(kept);
    this.kept += kept.length;
  }

  private finish(): void {
    let bytes = Buffer.concat(this.pieces, this.kept);
    let length = this.length;
    if (length <= this.maxBytes + 1 && bytes.at(-1) === CARRIAGE_RETURN) {
      bytes = bytes.subarray(0, -1);
      length--;
    }
    this.pieces = [];
    this.kept = 0;
    this.length = 0;
    if (length > this.maxBytes) this.options.onOverlong(length, bytes.subarray(0, 500).toString('utf8'));
    else this.options.onLine(bytes.toString('utf8'));
  }
}
