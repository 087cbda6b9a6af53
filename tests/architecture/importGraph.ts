import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, normalize, relative } from 'node:path';
import ts from 'typescript';

/**
 * The house's import rules as data, and a checker that reads a tree's imports with the
 * TypeScript parser: every arrow between layers must be on the allowed list, every package a
 * layer uses must be one it may use, and no imports may form a cycle.
 */

export type Layer = 'app' | 'bot' | 'commands' | 'graph' | 'services' | 'shared';

/** A file's place: the first folder rule that matches its path (relative to the root). */
export const LAYERS: ReadonlyArray<readonly [Layer, RegExp]> = [
  ['app', /^src\/app\//],
  ['bot', /^src\/bot\//],
  ['graph', /^src\/graph\//],
  ['services', /^src\/services\//],
  ['shared', /^src\/shared\//],
  ['commands', /^commands\//],
];

/**
 * Who may import whom. `value`: any import. `types`: only `import type`. `kit`: values only from
 * the named files, types from anywhere in the layer. Anything not listed is refused.
 */
export type Access = 'value' | 'types' | { kit: readonly string[] };

export const ALLOWED: Readonly<Record<Layer, Partial<Record<Layer, Access>>>> = {
  // The composition root and the entries: they build everything.
  app: { app: 'value', bot: 'value', graph: 'value', services: 'value', shared: 'value' },
  // The discord.js adapter: speaks for the graph and the services.
  bot: { bot: 'value', graph: 'value', services: 'value', shared: 'value' },
  // Slash commands: their ports come from the router; values only from the command kit.
  commands: {
    bot: { kit: ['src/bot/kit.ts'] },
    // An older name delegates to the commands it stands for.
    commands: 'value',
    graph: 'types',
    services: 'types',
    shared: 'value',
  },
  // The dialogue: receives every service as a dependency, knows only their interfaces.
  graph: { graph: 'value', services: 'types', shared: 'value' },
  // The domain: libraries below, nothing of Discord or the graph above.
  services: { services: 'value', shared: 'value' },
  // Pure helpers every layer may use.
  shared: { shared: 'value' },
};

/** Packages a layer may import (beside Node's built-ins, which every layer but `graph` may use freely). */
export const PACKAGES: Readonly<Record<Layer, (specifier: string) => boolean>> = {
  app: () => true,
  // The bot reaches storage through the services' stores only: no database driver of its own.
  bot: (p) => !/^(@langchain\/ollama|hnswlib-node|better-sqlite3|pg$|@keyv\/|keyv$)/.test(p),
  commands: (p) => p === 'discord.js',
  graph: (p) => /^@langchain\/(langgraph|langgraph-checkpoint|core)(\/|$)/.test(p),
  services: (p) => !/^(discord\.js|@discordjs\/)/.test(p),
  shared: () => false,
};

/** Built-ins the graph may not use: it does no I/O of its own. */
const GRAPH_FORBIDDEN_BUILTINS = /^(node:)?(fs|fs\/promises|child_process|net|http|https|worker_threads)$/;

export interface ImportEdge {
  from: string;
  /** As written. */
  specifier: string;
  /** The file it resolves to, relative to the root (local imports only). */
  to?: string;
  typeOnly: boolean;
}

export interface Violation {
  rule: 'forbidden-layer' | 'types-only' | 'not-in-kit' | 'package' | 'builtin' | 'unplaced' | 'cycle';
  message: string;
}

export function layerOf(path: string): Layer | undefined {
  return LAYERS.find(([, rule]) => rule.test(path))?.[0];
}

const parsed = new Map<string, ImportEdge[]>();

/** Static imports, re-exports and dynamic imports of one file, read by the TypeScript parser. */
export function importsOf(path: string, source: string): ImportEdge[] {
  const key = `${path}\0${source}`;
  const known = parsed.get(key);
  if (known) return known;
  const file = ts.createSourceFile(path, source, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const edges: ImportEdge[] = [];
  const add = (specifier: string, typeOnly: boolean) => {
    const edge: ImportEdge = { from: path, specifier, typeOnly };
    if (specifier.startsWith('.')) edge.to = normalize(join(dirname(path), specifier)).replaceAll('\\', '/');
    edges.push(edge);
  };
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      add(node.moduleSpecifier.text, node.importClause?.isTypeOnly ?? false);
    } else if (
      ts.isExportDeclaration(node) &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      add(node.moduleSpecifier.text, node.isTypeOnly);
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] &&
      ts.isStringLiteral(node.arguments[0])
    ) {
      add(node.arguments[0].text, false);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  parsed.set(key, edges);
  return edges;
}

const isBuiltin = (specifier: string) =>
  specifier.startsWith('node:') || builtinModules.includes(specifier.split('/')[0] ?? '');

/** Every violation of the rules in a set of files (path relative to the root → source). */
export function checkImports(files: ReadonlyMap<string, string>): Violation[] {
  const violations: Violation[] = [];
  const edges = [...files].flatMap(([path, source]) => importsOf(path, source));
  for (const edge of edges) {
    const from = layerOf(edge.from);
    if (!from) {
      violations.push({ rule: 'unplaced', message: `${edge.from} is in no layer` });
      continue;
    }
    if (edge.to === undefined) {
      if (isBuiltin(edge.specifier)) {
        if (from === 'graph' && GRAPH_FORBIDDEN_BUILTINS.test(edge.specifier))
          violations.push({
            rule: 'builtin',
            message: `${edge.from} uses ${edge.specifier} (the graph does no I/O)`,
          });
      } else if (!PACKAGES[from](edge.specifier)) {
        violations.push({
          rule: 'package',
          message: `${edge.from} imports ${edge.specifier}, which ${from} may not use`,
        });
      }
      continue;
    }
    const to = layerOf(edge.to);
    if (!to) {
      violations.push({ rule: 'unplaced', message: `${edge.from} imports ${edge.to}, which is in no layer` });
      continue;
    }
    const access = ALLOWED[from][to];
    if (access === undefined) {
      violations.push({
        rule: 'forbidden-layer',
        message: `${edge.from} (${from}) imports ${edge.to} (${to})`,
      });
    } else if (access === 'types' && !edge.typeOnly) {
      violations.push({
        rule: 'types-only',
        message: `${edge.from} imports values from ${edge.to}; ${from} may import only types from ${to}`,
      });
    } else if (typeof access === 'object' && !edge.typeOnly && !access.kit.includes(edge.to)) {
      violations.push({
        rule: 'not-in-kit',
        message: `${edge.from} imports values from ${edge.to}; ${from} may import values only from ${access.kit.join(', ')}`,
      });
    }
  }
  for (const cycle of importCycles(edges)) {
    violations.push({ rule: 'cycle', message: `import cycle: ${[...cycle, cycle[0]].join(' → ')}` });
  }
  return violations;
}

/**
 * Cycles among the local imports, types included (a cycle of types is still two files that must
 * change together), by Tarjan's algorithm.
 */
export function importCycles(edges: readonly ImportEdge[]): string[][] {
  const graph = new Map<string, string[]>();
  for (const edge of edges) {
    if (!edge.to) continue;
    graph.set(edge.from, [...(graph.get(edge.from) ?? []), edge.to]);
  }
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const connect = (node: string) => {
    index.set(node, counter);
    low.set(node, counter++);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        connect(next);
        low.set(node, Math.min(low.get(node) ?? 0, low.get(next) ?? 0));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node) ?? 0, index.get(next) ?? 0));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      for (let member = stack.pop(); member !== undefined; member = stack.pop()) {
        onStack.delete(member);
        component.push(member);
        if (member === node) break;
      }
      const selfLoop = (graph.get(node) ?? []).includes(node);
      if (component.length > 1 || selfLoop) cycles.push(component.reverse());
    }
  };
  for (const node of graph.keys()) if (!index.has(node)) connect(node);
  return cycles;
}

/** The checked tree: every .ts/.mts/.mjs file under `src/` and `commands/`, relative to `root`. */
export function readTree(root: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.(ts|mts|mjs)$/.test(name))
        files.set(relative(root, path).replaceAll('\\', '/'), readFileSync(path, 'utf8'));
    }
  };
  for (const folder of ['src', 'commands']) walk(join(root, folder));
  return files;
}

const LAYER_ORDER: readonly Layer[] = ['app', 'bot', 'commands', 'graph', 'services', 'shared'];

/** The allowed arrows as the Markdown table `ARCHITECTURE.md` shows (a test keeps the two the same). */
export function allowedTable(allowed: typeof ALLOWED = ALLOWED): string {
  const cell = (access: Access | undefined) =>
    access === undefined
      ? '—'
      : access === 'value'
        ? '✓'
        : access === 'types'
          ? 'types'
          : 'kit values, any types';
  return [
    `| from ↓ may import → | ${LAYER_ORDER.join(' | ')} |`,
    `|---|${LAYER_ORDER.map(() => '---|').join('')}`,
    ...LAYER_ORDER.map(
      (from) => `| **${from}** | ${LAYER_ORDER.map((to) => cell(allowed[from][to])).join(' | ')} |`,
    ),
  ].join('\n');
}

/** The table under a heading of a Markdown text: its consecutive lines that start with `|`. */
export function tableUnder(markdown: string, heading: string): string {
  const lines = markdown.split('\n');
  const start = lines.findIndex((line) => line.trim() === heading);
  if (start < 0) return '';
  const first = lines.findIndex((line, i) => i > start && line.startsWith('|'));
  if (first < 0) return '';
  const end = lines.findIndex((line, i) => i > first && !line.startsWith('|'));
  return lines.slice(first, end < 0 ? undefined : end).join('\n');
}
