// `npm start` and the other entries: `node scripts/launch.mjs dist/<entry>.js [args…]` checks that
// dist/ is a complete build of the sources as they are, then runs the entry in this same process
// (no wrapper process, no TypeScript loader). A missing or stale build is refused with what to run.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildProblem } from './buildCheck.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const [entry, ...args] = process.argv.slice(2);
if (!entry) {
  process.stderr.write('usage: node scripts/launch.mjs dist/<entry>.js [arguments]\n');
  process.exit(2);
}
const problem = buildProblem(root);
if (problem) {
  process.stderr.write(`${problem}\n`);
  process.exit(2);
}
const path = resolve(root, entry);
// The entry reads its own arguments as if it had been started directly.
process.argv = [process.argv[0] ?? process.execPath, path, ...args];
await import(pathToFileURL(path).href);
