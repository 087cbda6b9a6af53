import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { createTwoFilesPatch } from 'diff';
import { type Codex, CodexError, parseCodex } from '../codex/loadCodex.ts';

/** The largest codex an amendment may produce. */
export const MAX_CODEX_BYTES = 64 * 1024;

export const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** Sets the top-level `version = N` line (before any table), adding one when there is none. */
export function withVersion(source: string, version: number): string {
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

/**
 * Why an amended codex cannot be offered: it does not parse or pass the schema (file, line and
 * problem), it touches the immutable core, it is too large, or it changes nothing. Empty when
 * it may be offered.
 */
export function amendmentProblems(current: Codex, amended: string, label: string): string[] {
  const problems: string[] = [];
  const bytes = Buffer.byteLength(amended, 'utf8');
  if (bytes > MAX_CODEX_BYTES)
    problems.push(`the codex is ${bytes} bytes, over the limit of ${MAX_CODEX_BYTES}`);
  if (bytes > Math.max(4 * Buffer.byteLength(current.source, 'utf8'), 8 * 1024)) {
    problems.push('the codex more than quadrupled in size: amend principles, do not rewrite the whole codex');
  }
  let parsed: Codex;
  try {
    // The version is the system's to set; the draft is checked as it would be written.
    parsed = parseCodex(withVersion(amended, current.data.version + 1), label);
  } catch (error) {
    if (error instanceof CodexError) {
      return [
        ...problems,
        ...error.problems.map(
          (p) => `${label}${p.line ? `:${p.line}` : ''}${p.key ? ` ${p.key}` : ''}: ${p.message}`,
        ),
      ];
    }
    throw error;
  }
  if (!isDeepStrictEqual(parsed.data.core, current.data.core)) {
    problems.push('the [core] principles are immutable: the amendment must leave [core] exactly as it is');
  }
  const { version: _a, ...before } = current.data;
  const { version: _b, ...after } = parsed.data;
  if (isDeepStrictEqual(before, after)) problems.push('the amended codex changes nothing');
  return problems;
}

/** A unified diff between two codex texts (the `diff` package). */
export function codexDiff(before: string, after: string, beforeLabel: string, afterLabel: string): string {
  return createTwoFilesPatch('codex.toml', 'codex.toml', before, after, beforeLabel, afterLabel, {
    context: 3,
  });
}

/** Writes a file so that a reader sees the old text or the new, never half of either. */
export function writeAtomically(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, text);
  renameSync(temporary, path);
}

/** Keeps a codex version under `DATA_DIR/codex-history/`; returns its path. */
export function archiveCodex(dataDir: string, version: number, text: string): string {
  const dir = join(dataDir, 'codex-history');
  mkdirSync(dir, { recursive: true });
  let path = join(dir, `codex-v${version}.toml`);
  for (let n = 2; existsSync(path) && readFileSync(path, 'utf8') !== text; n++) {
    path = join(dir, `codex-v${version}-${n}.toml`);
  }
  writeAtomically(path, text);
  return path;
}

/** The archived text of a codex version, if it was kept. */
export function archivedCodex(dataDir: string, version: number): string | undefined {
  const path = join(dataDir, 'codex-history', `codex-v${version}.toml`);
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
}
