// `npm run build` (also npm ci's and npm install's `prepare`): compiles src/ and commands/ into a
// fresh dist/ (a file removed from the sources must not live on there), then stamps it.
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { STAMP } from './buildCheck.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
rmSync(dist, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const result = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], {
  stdio: 'inherit',
});
if (result.status !== 0) {
  process.stderr.write('The build failed: dist/ is left without a stamp, and npm start refuses it.\n');
  process.exit(result.status ?? 1);
}
writeFileSync(join(dist, STAMP), `${new Date().toISOString()}\n`);
