import { readFile, stat } from 'node:fs/promises';
import { parse, TomlError } from 'smol-toml';
import type { z } from 'zod';
import { sha256 } from '../../shared/hash.ts';
import { formatBytes } from '../../shared/text.ts';
import { AppError } from '../errors.ts';
import { type CodexData, codexSchema } from './codexSchema.ts';

/** A validated codex together with where it came from. */
export interface Codex {
  readonly data: CodexData;
  /** The TOML text it was parsed from. */
  readonly source: string;
  /** sha256 of `source`, hex: amendments are drafted against a hash. */
  readonly hash: string;
  /** The file it was read from, or a label such as `<proposal>`. */
  readonly path: string;
}

/** One problem found in a codex, with its place. */
export interface CodexProblem {
  /** Dotted key path, e.g. `personas.BRICK.temperature`; empty for syntax errors. */
  key: string;
  /** 1-based line, when it could be found. */
  line?: number;
  column?: number;
  message: string;
}

export class CodexError extends AppError {
  readonly problems: CodexProblem[];
  readonly file: string;

  constructor(file: string, problems: CodexProblem[]) {
    const lines = problems.map((p) => {
      const place = [p.line ? `${file}:${p.line}${p.column ? `:${p.column}` : ''}` : file, p.key]
        .filter(Boolean)
        .join(' ');
      return `  - ${place}: ${p.message}`;
    });
    super('CODEX_INVALID', 'user', `The codex ${file} is invalid:\n${lines.join('\n')}`);
    this.name = 'CodexError';
    this.file = file;
    this.problems = problems;
  }
}

/** Parses and validates codex TOML text; throws {@link CodexError} naming file, line and problem. */
export function parseCodex(source: string, path: string): Codex {
  let raw: unknown;
  try {
    raw = parse(source);
  } catch (error) {
    if (error instanceof TomlError) {
      const message = error.message.split('\n')[0]?.replace(/^Invalid TOML document: /, '') ?? 'invalid TOML';
      throw new CodexError(path, [
        { key: '', line: error.line, column: error.column, message: `TOML syntax: ${message}` },
      ]);
    }
    throw error;
  }
  const result = codexSchema.safeParse(raw);
  if (!result.success) {
    throw new CodexError(
      path,
      result.error.issues.map((issue) => toProblem(issue, source)),
    );
  }
  return Object.freeze({
    data: deepFreeze(result.data),
    source,
    hash: sha256(source),
    path,
  });
}

/**
 * The largest codex file read (1 MiB): the shipped one is a few kilobytes, and a file much larger
 * is a mistake (a log written to the wrong path, a copy gone wrong), never a codex to parse.
 */
export const MAX_CODEX_FILE_BYTES = 1024 * 1024;

/** Why a codex file of `bytes` was not read: the file, its size and the limit. */
export function codexTooLargeMessage(path: string, bytes: number, limit = MAX_CODEX_FILE_BYTES): string {
  return `The codex ${path} is ${formatBytes(bytes)} (${bytes} bytes), over the limit of ${formatBytes(limit)} (${limit} bytes): it was not read.`;
}

/** Reads, parses and validates the codex file; one over {@link MAX_CODEX_FILE_BYTES} is refused unread. */
export async function loadCodex(path: string): Promise<Codex> {
  let source: string;
  try {
    const { size } = await stat(path);
    if (size > MAX_CODEX_FILE_BYTES)
      throw new AppError('CODEX_TOO_LARGE', 'user', codexTooLargeMessage(path, size));
    source = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new AppError(
        'CODEX_NOT_FOUND',
        'user',
        `No codex at ${path}. Set CODEX_PATH to your codex.toml (the repository ships one at ./codex.toml).`,
      );
    }
    throw error;
  }
  return parseCodex(source, path);
}

function toProblem(issue: z.core.$ZodIssue, source: string): CodexProblem {
  const keyPath = issue.path.map(String);
  const place = locateKey(source, keyPath);
  const problem: CodexProblem = { key: keyPath.join('.'), message: issue.message };
  if (issue.code === 'unrecognized_keys') {
    problem.message = `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    const unknown = locateKey(source, [...keyPath, issue.keys[0] ?? '']);
    if (unknown) problem.line = unknown;
    else if (place) problem.line = place;
    return problem;
  }
  if (place) problem.line = place;
  return problem;
}

/**
 * Best-effort line of a key path in TOML text: the `key =` line inside the table that holds it,
 * or the nearest enclosing table header. Arrays of values point at their key.
 */
export function locateKey(source: string, keyPath: readonly string[]): number | undefined {
  const path = keyPath.filter((segment) => !/^\d+$/.test(segment));
  if (path.length === 0) return undefined;
  const lines = source.split(/\r?\n/);
  let table: string[] = [];
  let best: { line: number; depth: number } | undefined;
  const bare = (s: string) => s.trim().replace(/^["']|["']$/g, '');
  for (const [index, text] of lines.entries()) {
    const header = /^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$/.exec(text);
    if (header?.[1]) {
      table = header[1].split('.').map(bare);
      const depth = matchDepth(table, path);
      if (depth === table.length && (!best || depth > best.depth)) best = { line: index + 1, depth };
      continue;
    }
    const assignment = /^\s*([A-Za-z0-9_."' -]+?)\s*=/.exec(text);
    if (assignment?.[1] && matchDepth(table, path) === table.length) {
      const full = [...table, ...assignment[1].split('.').map(bare)];
      const depth = matchDepth(full, path);
      if (depth === full.length && (!best || depth > best.depth)) best = { line: index + 1, depth };
    }
  }
  return best?.line;
}

function matchDepth(candidate: readonly string[], path: readonly string[]): number {
  let depth = 0;
  while (depth < candidate.length && depth < path.length && candidate[depth] === path[depth]) depth++;
  return depth;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
