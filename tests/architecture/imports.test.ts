import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/fixtures.ts';

/** Every .ts file below a folder of the repository. */
function sources(folder: string): string[] {
  const dir = join(REPO_ROOT, folder);
  const walk = (path: string): string[] =>
    readdirSync(path).flatMap((name) => {
      const child = join(path, name);
      return statSync(child).isDirectory() ? walk(child) : child.endsWith('.ts') ? [child] : [];
    });
  return walk(dir);
}

interface Import {
  file: string;
  specifier: string;
  typeOnly: boolean;
}

/** Static imports, re-exports and dynamic imports of a file. */
function importsOf(file: string): Import[] {
  const text = readFileSync(file, 'utf8');
  const found: Import[] = [];
  const pattern =
    /(?:^|\n)\s*(import|export)\s+(type\s+)?[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|(?:^|\n)\s*import\s+['"]([^'"]+)['"]/g;
  for (const match of text.matchAll(pattern)) {
    const specifier = match[3] ?? match[4] ?? match[5];
    if (specifier) found.push({ file: relative(REPO_ROOT, file), specifier, typeOnly: Boolean(match[2]) });
  }
  return found;
}

const GRAPH_FORBIDDEN = [
  /^discord\.js$/,
  /^@discordjs\//,
  /^keyv$/,
  /^@keyv\//,
  /^hnswlib-node$/,
  /^node-cron$/,
  /^(node:)?fs(\/promises)?$/,
  /^better-sqlite3$/,
  /^@langchain\/langgraph-checkpoint-sqlite$/,
  /^@langchain\/ollama$/,
  /\/bot\//,
  /commands\//,
];

describe('dependency direction', () => {
  it('keeps src/graph free of Discord, storage, cron, fs and concrete services', () => {
    const offending = sources('src/graph')
      .flatMap(importsOf)
      .filter(
        (imp) =>
          GRAPH_FORBIDDEN.some((rule) => rule.test(imp.specifier)) ||
          // The graph may know the services' interfaces, never their implementations.
          (/\/services\//.test(imp.specifier) && !imp.typeOnly),
      );
    expect(offending).toEqual([]);
  });

  it('keeps src/graph from reading the environment', () => {
    const readers = sources('src/graph').filter((file) => /process\.env/.test(readFileSync(file, 'utf8')));
    expect(readers).toEqual([]);
  });

  it('keeps src/services free of discord.js, src/bot, src/graph and commands', () => {
    const offending = sources('src/services')
      .flatMap(importsOf)
      .filter((imp) => /^discord\.js$|^@discordjs\/|\/bot\/|\/graph\/|commands\//.test(imp.specifier));
    expect(offending).toEqual([]);
  });

  it('finds the imports it checks (the checker itself works)', () => {
    const graphImports = sources('src/graph')
      .flatMap(importsOf)
      .map((imp) => imp.specifier);
    expect(graphImports).toContain('@langchain/langgraph');
    expect(
      sources('src/services')
        .flatMap(importsOf)
        .map((imp) => imp.specifier),
    ).toContain('smol-toml');
  });
});
