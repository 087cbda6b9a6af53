// `npm start` and the other entries: `node scripts/launch.mjs dist/<entry>.js [args…]` checks that
// dist/ is a complete build of the sources as they are, then runs the entry in this same process
// (no wrapper process, no TypeScript loader). A missing or stale build is refused with what to run.
//
// `--config-error-exit-0` before the entry (the container's CMD): a configuration error, which
// the entries end with exit code 2 after saying what to fix (a setting missing or wrong, a token
// Discord refuses), ends the process with 0 instead. Docker's `restart: on-failure` then leaves
// the container down with its message, where it would restart it in a loop; a crash (1) is still
// restarted.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildProblem } from './buildCheck.mjs';

/** The exit code the entries give a configuration error. */
const CONFIG_ERROR = 2;

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const stayDown = args[0] === '--config-error-exit-0';
if (stayDown) args.shift();
const [entry, ...rest] = args;
if (!entry) {
  process.stderr.write(
    'usage: node scripts/launch.mjs [--config-error-exit-0] dist/<entry>.js [arguments]\n',
  );
  process.exit(2);
}
if (stayDown) {
  // Node exits with the code an 'exit' listener leaves in process.exitCode, process.exit(2) included.
  process.on('exit', (code) => {
    if (code !== CONFIG_ERROR) return;
    process.stderr.write('A configuration error: not restarting until it is fixed (then start it again).\n');
    process.exitCode = 0;
  });
}
const problem = buildProblem(root);
if (problem) {
  process.stderr.write(`${problem}\n`);
  process.exit(2);
}
const path = resolve(root, entry);
// The entry reads its own arguments as if it had been started directly.
process.argv = [process.argv[0] ?? process.execPath, path, ...rest];
await import(pathToFileURL(path).href);
