// Whether dist/ holds a build of the sources as they are. Plain JavaScript: it runs before the
// build is known to be there (see launch.mjs).
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/** Written by `npm run build` once the compiler succeeded: its time is the build's. */
export const STAMP = '.build-stamp';

/** What the build compiles; a change to any of these makes dist/ stale. */
const SOURCES = ['src', 'commands', 'tsconfig.json', 'tsconfig.build.json'];

/** The most recently changed source file under `root`, with its time (ms). */
function newestSource(root) {
  let newest = { path: '', mtimeMs: 0 };
  const visit = (path) => {
    const stat = statSync(path, { throwIfNoEntry: false });
    if (!stat) return;
    if (stat.isDirectory()) {
      for (const name of readdirSync(path)) visit(join(path, name));
    } else if (stat.mtimeMs > newest.mtimeMs) {
      newest = { path, mtimeMs: stat.mtimeMs };
    }
  };
  for (const source of SOURCES) visit(join(root, source));
  return { path: relative(root, newest.path), mtimeMs: newest.mtimeMs };
}

/**
 * Why the build in `root/dist` cannot be started, in words for the person who ran it, or
 * undefined when it is complete and newer than every source.
 */
export function buildProblem(root) {
  const stamp = statSync(join(root, 'dist', STAMP), { throwIfNoEntry: false });
  if (!stamp) {
    return 'dist/ is missing or incomplete: the bot runs compiled. Run `npm run build` (npm ci and npm install do it for you).';
  }
  const newest = newestSource(root);
  if (newest.mtimeMs > stamp.mtimeMs) {
    return `dist/ is older than the sources (${newest.path} changed after the last build). Run \`npm run build\`, or \`npm run dev\` to run the sources directly.`;
  }
  return undefined;
}
