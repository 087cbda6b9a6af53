import { createHash, type Hash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  statSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../clock.ts';
import { syncFolder, writeFileDurably } from '../durableWrite.ts';
import type { Logger } from '../logger.ts';
import type { GoldenSample, SampleMeta } from './sample.ts';

/**
 * The golden datasets on disk, one set per persona in `DATA_DIR/golden/`:
 * - `<PERSONA>.jsonl`: the samples ({@link GoldenSample}, one a line), only ever appended to
 *   (append, then fsync) except when `/memory forget` removes some (a durable rewrite);
 * - `<PERSONA>.anchor.jsonl`: the first `CURATION_ANCHOR_SIZE` samples, frozen once full;
 * - `<PERSONA>.manifest.json`: count, newest, size and sha256 of the set (a durable write).
 *
 * A kill in the middle of an append leaves a torn last line: `repair` cuts it (and counts it), and
 * no reader here ever takes a line that does not end in a newline. One writer at a time: the
 * curation service holds a lease while it writes.
 */

/** The value of `format` in every manifest this version writes. */
export const MANIFEST_FORMAT = 'bat-os/golden-manifest@1';

/** What the manifest says of a set (`<PERSONA>.manifest.json`, snake_case like the samples). */
export interface GoldenManifest {
  format: string;
  persona: string;
  /** The dataset's file name, beside the manifest. */
  file: string;
  samples: number;
  bytes: number;
  /** sha256 (hex) of the whole dataset file. */
  sha256: string;
  /** The last sample appended. */
  newest: { interaction_id: string; content_hash: string; curated_at: string } | null;
  /** How many samples have each total score. */
  totals: Record<string, number>;
  /** Torn last lines cut at a start after a kill, all time. */
  repaired_lines: number;
  /** Lines that are not samples (edited by hand?): skipped, kept. */
  unreadable_lines: number;
  anchor: {
    file: string;
    samples: number;
    /** `CURATION_ANCHOR_SIZE` when it filled (or now, while it fills). */
    size: number;
    /** Full once: it no longer takes new samples (a forget may still remove some). */
    frozen: boolean;
    sha256: string;
  };
  /** ISO 8601. */
  updated_at: string;
}

/** What one persona's set holds in memory once read: de-duplication and the running file hash. */
interface SetState {
  hashes: Set<string>;
  /** Samples per interaction id: a forget that touches none of them rewrites nothing. */
  interactions: Map<string, number>;
  samples: number;
  bytes: number;
  /** sha256 of the file so far; `copy()` gives the digest without a re-read. */
  hash: Hash;
  totals: Map<number, number>;
  newest: GoldenManifest['newest'];
  unreadable: number;
}

export interface GoldenStoreOptions {
  /** `DATA_DIR/golden`. */
  dir: string;
  /** How many first samples make a persona's anchor set (0: none). */
  anchorSize: number;
  clock: Clock;
  logger: Logger;
}

export interface GoldenStore {
  readonly dir: string;
  /**
   * Cuts torn last lines (a kill during an append) and brings stale manifests and anchors up to
   * date; forgets what it held in memory of a set another process changed. Returns the lines cut,
   * by persona.
   */
  repair(): Record<string, number>;
  /** Appends the samples not already in the set (by content hash); fsyncs before it returns. */
  append(persona: string, samples: readonly GoldenSample[]): { added: number; duplicates: number };
  /** Whether the set already holds a sample with this content hash. */
  has(persona: string, contentHash: string): boolean;
  /** Removes every sample of these interactions from every set and anchor (durable rewrites). */
  remove(interactionIds: ReadonlySet<string>): Record<string, { samples: number; anchor: number }>;
  /** Writes the manifests (and fills the anchors) of the sets appended to since the last flush. */
  flush(): void;
  /** Personas that have a dataset file. */
  personas(): string[];
  /** A set's manifest, current (read again if the file changed under it); undefined without a file. */
  manifest(persona: string): GoldenManifest | undefined;
  /** The last `n` samples of a set, newest last. */
  newest(persona: string, n: number): GoldenSample[];
  /** The set's file, whole lines only, or its last whole lines within `maxBytes` (`whole: false`). */
  contents(persona: string, maxBytes: number): { data: Buffer; whole: boolean };
  path(persona: string): string;
  anchorPath(persona: string): string;
}

const NEWLINE = 0x0a;
const CHUNK = 1 << 20;

/** Calls `visit` with each complete line of a file (without its newline); a torn tail is no line. */
function forEachLine(path: string, visit: (line: Buffer) => void, limit = Number.POSITIVE_INFINITY): void {
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

/** A line read back as a sample, or undefined when it is not one. */
function readSample(line: Buffer): GoldenSample | undefined {
  try {
    const value = JSON.parse(line.toString('utf8')) as Partial<GoldenSample>;
    const meta = value?.meta as Partial<SampleMeta> | undefined;
    if (!Array.isArray(value?.messages) || typeof meta?.content_hash !== 'string') return undefined;
    return value as GoldenSample;
  } catch {
    return undefined;
  }
}

/** Appends bytes and flushes them to disk before returning. */
function appendDurably(path: string, bytes: Buffer): void {
  const fd = openSync(path, 'a');
  try {
    for (let written = 0; written < bytes.length; ) {
      written += writeSync(fd, bytes, written, bytes.length - written);
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Cuts a file after its last newline; returns the bytes cut (0 when it ended whole). */
function cutTornTail(path: string): number {
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

function emptyState(): SetState {
  return {
    hashes: new Set(),
    interactions: new Map(),
    samples: 0,
    bytes: 0,
    hash: createHash('sha256'),
    totals: new Map(),
    newest: null,
    unreadable: 0,
  };
}

/** Adds one line (as it is in the file) to a set's state. */
function account(state: SetState, line: Buffer | string, sample: GoldenSample | undefined): void {
  const bytes = typeof line === 'string' ? Buffer.byteLength(line) : line.length;
  state.hash.update(line);
  state.hash.update('\n');
  state.bytes += bytes + 1;
  if (!sample) {
    state.unreadable++;
    return;
  }
  const { meta } = sample;
  state.samples++;
  state.hashes.add(meta.content_hash);
  state.interactions.set(meta.interaction_id, (state.interactions.get(meta.interaction_id) ?? 0) + 1);
  state.totals.set(meta.total, (state.totals.get(meta.total) ?? 0) + 1);
  state.newest = {
    interaction_id: meta.interaction_id,
    content_hash: meta.content_hash,
    curated_at: meta.curated_at,
  };
}

export function createGoldenStore(options: GoldenStoreOptions): GoldenStore {
  const { dir } = options;
  const log = options.logger.child({ module: 'golden' });
  const states = new Map<string, SetState>();
  const dirty = new Set<string>();
  const path = (persona: string) => join(dir, `${persona}.jsonl`);
  const anchorPath = (persona: string) => join(dir, `${persona}.anchor.jsonl`);
  const manifestPath = (persona: string) => join(dir, `${persona}.manifest.json`);

  function readManifest(persona: string): GoldenManifest | undefined {
    try {
      const manifest = JSON.parse(readFileSync(manifestPath(persona), 'utf8')) as GoldenManifest;
      return manifest.format === MANIFEST_FORMAT ? manifest : undefined;
    } catch {
      return undefined;
    }
  }

  /** Reads a set once into memory (hashes, counts, running sha256). */
  function load(persona: string): SetState {
    let state = states.get(persona);
    if (state) return state;
    state = emptyState();
    const loaded = state;
    forEachLine(path(persona), (line) => account(loaded, line, readSample(line)));
    states.set(persona, state);
    return state;
  }

  /** Drops what memory holds of a set whose file another process changed. */
  function forgetIfChanged(persona: string): void {
    const state = states.get(persona);
    const size = existsSync(path(persona)) ? statSync(path(persona)).size : 0;
    if (state && state.bytes !== size) states.delete(persona);
  }

  /** The anchor's samples and digest as it is on disk. */
  function anchorOnDisk(persona: string): { samples: number; sha256: string; text: string } {
    const text = existsSync(anchorPath(persona)) ? readFileSync(anchorPath(persona), 'utf8') : '';
    const lines = text.split('\n').slice(0, -1);
    return {
      samples: lines.length,
      sha256: createHash('sha256').update(text).digest('hex'),
      text,
    };
  }

  /** The anchor while it fills: the set's first samples; once it holds `anchorSize`, frozen. */
  function settleAnchor(persona: string, previous: GoldenManifest | undefined): GoldenManifest['anchor'] {
    const onDisk = anchorOnDisk(persona);
    const file = `${persona}.anchor.jsonl`;
    const frozen = (previous?.anchor.frozen ?? false) && existsSync(anchorPath(persona));
    if (frozen || options.anchorSize === 0) {
      return {
        file,
        samples: onDisk.samples,
        size: previous?.anchor.size ?? options.anchorSize,
        frozen: frozen || onDisk.samples >= options.anchorSize,
        sha256: onDisk.sha256,
      };
    }
    const first: string[] = [];
    forEachLine(path(persona), (line) => {
      if (first.length < options.anchorSize && readSample(line)) first.push(`${line.toString('utf8')}\n`);
    });
    const text = first.join('');
    if (text !== onDisk.text) writeFileDurably(anchorPath(persona), text);
    return {
      file,
      samples: first.length,
      size: options.anchorSize,
      frozen: first.length >= options.anchorSize,
      sha256: createHash('sha256').update(text).digest('hex'),
    };
  }

  function writeManifest(persona: string, repaired = 0): GoldenManifest {
    const state = load(persona);
    const previous = readManifest(persona);
    const manifest: GoldenManifest = {
      format: MANIFEST_FORMAT,
      persona,
      file: `${persona}.jsonl`,
      samples: state.samples,
      bytes: state.bytes,
      sha256: state.hash.copy().digest('hex'),
      newest: state.newest,
      totals: Object.fromEntries([...state.totals.entries()].sort((a, b) => a[0] - b[0])),
      repaired_lines: (previous?.repaired_lines ?? 0) + repaired,
      unreadable_lines: state.unreadable,
      anchor: settleAnchor(persona, previous),
      updated_at: new Date(options.clock.now()).toISOString(),
    };
    writeFileDurably(manifestPath(persona), `${JSON.stringify(manifest, null, 2)}\n`);
    return manifest;
  }

  function personas(): string[] {
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .flatMap((name) => /^([A-Z][A-Z0-9_]{0,31})\.jsonl$/.exec(name)?.[1] ?? [])
      .sort();
  }

  /**
   * Rewrites a file without the samples of these interactions (a durable rewrite); returns how
   * many went. Only a line that holds one of the ids as bytes is parsed: a forget reads the set at
   * disk speed.
   */
  function rewriteWithout(file: string, interactionIds: ReadonlySet<string>): number {
    const needles = [...interactionIds].map((id) => Buffer.from(JSON.stringify(id)));
    const drops = (line: Buffer) => {
      if (!needles.some((needle) => line.includes(needle))) return false;
      const sample = readSample(line);
      return sample !== undefined && interactionIds.has(sample.meta.interaction_id);
    };
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
          const bytes = Buffer.concat(pending);
          for (let written = 0; written < bytes.length; ) {
            written += writeSync(fd, bytes, written, bytes.length - written);
          }
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

  return {
    dir,
    path,
    anchorPath,
    personas,
    repair() {
      const cut: Record<string, number> = {};
      for (const persona of personas()) {
        forgetIfChanged(persona);
        const bytes = cutTornTail(path(persona));
        if (bytes > 0) {
          cut[persona] = 1;
          states.delete(persona);
          log.warn(
            { persona, bytes },
            'cut a torn last line from a golden dataset (a write was interrupted)',
          );
        }
        const manifest = readManifest(persona);
        const size = statSync(path(persona)).size;
        if (bytes > 0 || !manifest || manifest.bytes !== size || dirty.has(persona)) {
          writeManifest(persona, bytes > 0 ? 1 : 0);
          dirty.delete(persona);
        }
      }
      return cut;
    },
    has(persona, contentHash) {
      return load(persona).hashes.has(contentHash);
    },
    append(persona, samples) {
      const state = load(persona);
      const lines: string[] = [];
      const fresh: GoldenSample[] = [];
      const seen = new Set<string>();
      for (const sample of samples) {
        const hash = sample.meta.content_hash;
        if (state.hashes.has(hash) || seen.has(hash)) continue;
        seen.add(hash);
        fresh.push(sample);
        lines.push(JSON.stringify(sample));
      }
      if (fresh.length > 0) {
        mkdirSync(dir, { recursive: true });
        const created = !existsSync(path(persona));
        appendDurably(path(persona), Buffer.from(lines.map((line) => `${line}\n`).join(''), 'utf8'));
        if (created) syncFolder(dir);
        fresh.forEach((sample, i) => {
          account(state, lines[i] ?? '', sample);
        });
        dirty.add(persona);
      }
      return { added: fresh.length, duplicates: samples.length - fresh.length };
    },
    remove(interactionIds) {
      const removed: Record<string, { samples: number; anchor: number }> = {};
      if (interactionIds.size === 0) return removed;
      for (const persona of personas()) {
        forgetIfChanged(persona);
        const known = states.get(persona);
        const touched = !known || [...interactionIds].some((id) => known.interactions.has(id));
        const samples = touched ? rewriteWithout(path(persona), interactionIds) : 0;
        const anchor = rewriteWithout(anchorPath(persona), interactionIds);
        if (samples === 0 && anchor === 0) continue;
        states.delete(persona);
        removed[persona] = { samples, anchor };
        writeManifest(persona);
        dirty.delete(persona);
      }
      return removed;
    },
    flush() {
      for (const persona of [...dirty]) {
        writeManifest(persona);
        dirty.delete(persona);
      }
    },
    manifest(persona) {
      if (!existsSync(path(persona))) return undefined;
      const manifest = readManifest(persona);
      const size = statSync(path(persona)).size;
      if (manifest && manifest.bytes === size && !dirty.has(persona)) return manifest;
      // Read only (no lease): what the file holds now, without writing a manifest.
      forgetIfChanged(persona);
      const state = load(persona);
      const anchor = anchorOnDisk(persona);
      return {
        format: MANIFEST_FORMAT,
        persona,
        file: `${persona}.jsonl`,
        samples: state.samples,
        bytes: state.bytes,
        sha256: state.hash.copy().digest('hex'),
        newest: state.newest,
        totals: Object.fromEntries(state.totals),
        repaired_lines: manifest?.repaired_lines ?? 0,
        unreadable_lines: state.unreadable,
        anchor: {
          file: `${persona}.anchor.jsonl`,
          samples: anchor.samples,
          size: manifest?.anchor.size ?? options.anchorSize,
          frozen: manifest?.anchor.frozen ?? anchor.samples >= options.anchorSize,
          sha256: anchor.sha256,
        },
        updated_at: manifest?.updated_at ?? new Date(options.clock.now()).toISOString(),
      };
    },
    contents(persona, maxBytes) {
      if (!existsSync(path(persona))) return { data: Buffer.alloc(0), whole: true };
      const size = statSync(path(persona)).size;
      const fd = openSync(path(persona), 'r');
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
    },
    newest(persona, n) {
      if (n <= 0 || !existsSync(path(persona))) return [];
      // Reads back from the end until n whole lines are in hand.
      const fd = openSync(path(persona), 'r');
      try {
        const size = statSync(path(persona)).size;
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
        return lines.flatMap((line) => readSample(Buffer.from(line)) ?? []).slice(-n);
      } finally {
        closeSync(fd);
      }
    },
  };
}
