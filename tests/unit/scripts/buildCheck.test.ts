import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildProblem, STAMP } from '../../../scripts/buildCheck.mjs';
import { tempFolders } from '../../support/fixtures.ts';

const folders = tempFolders();
afterEach(() => folders.cleanup());

/** A checkout with one source file and, optionally, a build stamped at `builtAt` (seconds). */
function checkout(options: { sourceAt: number; builtAt?: number }): string {
  const root = folders.folder();
  mkdirSync(join(root, 'src', 'app'), { recursive: true });
  const source = join(root, 'src', 'app', 'main.ts');
  writeFileSync(source, 'export {};\n');
  utimesSync(source, options.sourceAt, options.sourceAt);
  if (options.builtAt !== undefined) {
    mkdirSync(join(root, 'dist'));
    const stamp = join(root, 'dist', STAMP);
    writeFileSync(stamp, '');
    utimesSync(stamp, options.builtAt, options.builtAt);
  }
  return root;
}

describe('the build check behind npm start', () => {
  it('says to run npm run build when dist/ is missing or was never finished', () => {
    expect(buildProblem(checkout({ sourceAt: 1000 }))).toMatch(/dist\/ is missing[\s\S]*npm run build/);
  });

  it('names the changed file when a source is newer than the build', () => {
    expect(buildProblem(checkout({ sourceAt: 2000, builtAt: 1000 }))).toMatch(
      /older than the sources \(src\/app\/main\.ts changed[\s\S]*npm run build/,
    );
  });

  it('accepts a build newer than every source', () => {
    expect(buildProblem(checkout({ sourceAt: 1000, builtAt: 2000 }))).toBeUndefined();
  });
});
