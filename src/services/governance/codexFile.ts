import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { createTwoFilesPatch } from 'diff';
import { sha256 } from '../../shared/hash.ts';
import { type Codex, CodexError, parseCodex } from '../codex/loadCodex.ts';
import { writeFileDurably } from '../durableWrite.ts';

/** The codex's file work for the philosophical loop: checks, diffs, durable writes, the archive. */

/** The largest codex an amendment may produce. */
export const MAX_CODEX_BYTES = 64 * 1024;

/** Sets the top-level `version = N` line (before any table), adding one when there is none. */
export function withVersionLine(source: string, version: number): string {
  const lines = source.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (/^\s*\[/.test(line)) break;
    if (/^\s*version\s*=/.test(line)) {
      lines[i] = `version = ${version}`;
      return lines.join('\n');
    }
  }
  return `version = ${version}\n${source}`;
}

/** An amended codex as it would be written: its text with the version set, and the parsed result. */
export interface CheckedCodex {
  text: string;
  codex: Codex;
}

/**
 * Checks an amended codex as it would be written at `version`: it parses and passes the schema
 * (file, line and problem), its parsed version really is `version` (a line that only looks like
 * the version, inside a multi-line string, is caught), it leaves the immutable core as it is, it
 * is not too large, and it changes something. Returns the problems, or the codex ready to write.
 */
export function checkAmendedCodex(
  current: Codex,
  amended: string,
  label: string,
  version: number,
): { ok: true; checked: CheckedCodex } | { ok: false; problems: string[] } {
  const problems: string[] = [];
  const bytes = Buffer.byteLength(amended, 'utf8');
  if (bytes > MAX_CODEX_BYTES)
    problems.push(`the codex is ${bytes} bytes, over the limit of ${MAX_CODEX_BYTES}`);
  if (bytes > Math.max(4 * Buffer.byteLength(current.source, 'utf8'), 8 * 1024)) {
    problems.push('the codex more than quadrupled in size: amend principles, do not rewrite the whole codex');
  }
  const text = withVersionLine(amended, version);
  let codex: Codex;
  try {
    codex = parseCodex(text, label);
  } catch (error) {
    if (error instanceof CodexError) {
      return {
        ok: false,
        problems: [
          ...problems,
          ...error.problems.map(
            (p) => `${label}${p.line ? `:${p.line}` : ''}${p.key ? ` ${p.key}` : ''}: ${p.message}`,
          ),
        ],
      };
    }
    throw error;
  }
  if (codex.data.version !== version) {
    problems.push(
      `the top-level \`version\` must be a plain \`version = N\` line before the first table (it reads ${codex.data.version}, not ${version})`,
    );
  }
  if (!isDeepStrictEqual(codex.data.core, current.data.core)) {
    problems.push('the [core] principles are immutable: the amendment must leave [core] exactly as it is');
  }
  const { version: _a, ...before } = current.data;
  const { version: _b, ...after } = codex.data;
  if (isDeepStrictEqual(before, after)) problems.push('the amended codex changes nothing');
  return problems.length ? { ok: false, problems } : { ok: true, checked: { text, codex } };
}

/** A unified diff between two codex texts (the `diff` package). */
export function codexDiff(before: string, after: string, beforeLabel: string, afterLabel: string): string {
  return createTwoFilesPatch('codex.toml', 'codex.toml', before, after, beforeLabel, afterLabel, {
    context: 3,
  });
}

/** Replaces the codex file durably: the old text or the new survives a crash, never half. */
export function writeCodex(path: string, text: string): void {
  writeFileDurably(path, text);
}

/** Thrown inside a codex write that found the file changed since it was read. */
class CodexMoved extends Error {}

/**
 * Replaces the codex durably unless the file changed since it was read (its text no longer hashes
 * to `readHash`, or it is gone): an operator's edit is never written over. The text on disk is
 * compared once the new one is flushed, just before it takes the file's place, so nothing but a
 * save in that last instant can slip between. A codex that is a symbolic link (a mounted config's
 * `..data` link, say) keeps its link: the file it points to is replaced. Returns whether it wrote.
 */
export function writeCodexUnlessChanged(path: string, text: string, readHash: string): boolean {
  const unchanged = (target: string) => {
    try {
      return sha256(readFileSync(target, 'utf8')) === readHash;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
  };
  let target: string;
  try {
    target = realpathSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
  try {
    writeFileDurably(target, text, () => {
      if (!unchanged(target)) throw new CodexMoved();
    });
    return true;
  } catch (error) {
    if (error instanceof CodexMoved) return false;
    throw error;
  }
}

/** Keeps a codex version under `DATA_DIR/codex-history/`; returns its path. */
export function archiveCodex(dataDir: string, version: number, text: string): string {
  const dir = join(dataDir, 'codex-history');
  let path = join(dir, `codex-v${version}.toml`);
  for (let n = 2; existsSync(path) && readFileSync(path, 'utf8') !== text; n++) {
    path = join(dir, `codex-v${version}-${n}.toml`);
  }
  writeFileDurably(path, text);
  return path;
}

/** The archived text of a codex version, if it was kept. */
export function archivedCodex(dataDir: string, version: number): string | undefined {
  const path = join(dataDir, 'codex-history', `codex-v${version}.toml`);
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
}
