import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/fixtures.ts';

// Every package in package.json earns its place: imported by the code, the scripts, the benches,
// the tests or a config file, or run as a program by an npm script. A dependency nothing uses
// still costs every install its download (and, for a native one, minutes of compiling).

interface PackageJson {
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
}

const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as PackageJson;
const SCANNED = ['src', 'commands', 'scripts', 'bench', 'tests'];
const CODE = /\.(ts|mts|cts|js|mjs|cjs)$/;

/** The code files under the scanned folders, and the config files at the root. */
function codeFiles(): string[] {
  const files: string[] = [];
  const visit = (path: string) => {
    if (statSync(path).isDirectory()) {
      for (const name of readdirSync(path)) if (name !== 'node_modules') visit(join(path, name));
    } else if (CODE.test(path)) {
      files.push(path);
    }
  };
  for (const dir of SCANNED) if (existsSync(join(REPO_ROOT, dir))) visit(join(REPO_ROOT, dir));
  for (const name of readdirSync(REPO_ROOT)) if (CODE.test(name)) files.push(join(REPO_ROOT, name));
  return files;
}

/**
 * The package names a text reaches for: `import … from 'x'`, `export … from 'x'`, `import('x')`,
 * `require('x')`, `require.resolve('x/file')`, `createRequire(…)('x')`, and `--import x` (a
 * loader given to node). Relative paths and Node's built-ins are left out.
 */
function packagesUsedBy(text: string): Set<string> {
  const patterns = [
    /\b(?:from|import)\s+['"]([^'"\s]+)['"]/g,
    /\b(?:import|require|require\.resolve|resolve)\s*\(\s*['"]([^'"]+)['"]/g,
    /\)\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /--import[\s'",=]+([@\w][^\s'"]*)/g,
  ];
  const names = new Set<string>();
  for (const pattern of patterns) {
    for (const match of text.matchAll(pattern)) {
      const specifier = match[1] ?? '';
      if (/^(\.|\/|node:)/.test(specifier)) continue;
      const parts = specifier.split('/');
      names.add(specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? ''));
    }
  }
  return names;
}

/** The programs a package puts in node_modules/.bin, by name. */
function binsOf(name: string): string[] {
  const manifest = join(REPO_ROOT, 'node_modules', name, 'package.json');
  if (!existsSync(manifest)) return [];
  const { bin } = JSON.parse(readFileSync(manifest, 'utf8')) as { bin?: string | Record<string, string> };
  if (typeof bin === 'string') return [name.split('/').at(-1) ?? name];
  return Object.keys(bin ?? {});
}

/** Whether an npm script runs the program (as the first word of one of its commands). */
function runByScript(bins: readonly string[]): boolean {
  const commands = Object.values(pkg.scripts).flatMap((script) => script.split(/&&|\|\||;/));
  return commands.some((command) => bins.includes(command.trim().split(/\s+/)[0] ?? ''));
}

describe('the dependencies in package.json', () => {
  const imported = new Set<string>();
  for (const file of codeFiles())
    for (const name of packagesUsedBy(readFileSync(file, 'utf8'))) imported.add(name);
  for (const script of Object.values(pkg.scripts))
    for (const name of packagesUsedBy(script)) imported.add(name);

  /** Why a package is there, or undefined when nothing uses it. */
  function use(name: string): string | undefined {
    if (imported.has(name)) return 'imported';
    if (runByScript(binsOf(name))) return 'run by a script';
    // Type packages serve the package they type (`@types/node`: Node's own modules).
    const typed = /^@types\/(.+)$/.exec(name)?.[1];
    if (typed === 'node') return 'types of node:';
    if (typed && imported.has(typed.includes('__') ? `@${typed.replace('__', '/')}` : typed)) return 'types';
    return undefined;
  }

  it('are each imported or run: none sits unused', () => {
    const all = [...Object.keys(pkg.dependencies), ...Object.keys(pkg.devDependencies)];
    const unused = all.filter((name) => !use(name));
    expect(unused, 'in package.json, but nothing imports or runs them').toEqual([]);
  });

  it('are found the ways the code uses them (the check itself works)', () => {
    expect(
      packagesUsedBy(`import pino from 'pino';
        const { Resvg } = await import('@resvg/resvg-js');
        createRequire(import.meta.url)('pino-pretty');
        require.resolve('@expo-google-fonts/noto-sans/400Regular/NotoSans_400Regular.ttf');
        spawn(node, ['--import', 'tsx', 'x.ts']);
        import { join } from 'node:path';
        import './local.ts';`),
    ).toEqual(new Set(['pino', '@resvg/resvg-js', 'pino-pretty', '@expo-google-fonts/noto-sans', 'tsx']));
    expect(use('@biomejs/biome')).toBe('run by a script');
    expect(use('@types/better-sqlite3')).toBe('types');
    // A package nothing uses is caught.
    expect(use('left-pad')).toBeUndefined();
  });
});
