/**
 * Run with `node --import tsx … <folder> <codex path>`: rewrites the codex (a version a line) and
 * grows and saves a vector index, forever, printing `codex <version>` and `index <size>` after
 * each completed write. A crash test kills it at random moments.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeCodex } from '../../../src/services/governance/codexFile.ts';
import { VectorIndex } from '../../../src/services/memory/vectorIndex.ts';

const [folder = '.', codexPath = ''] = process.argv.slice(2);
const template = readFileSync(codexPath, 'utf8');
const index = new VectorIndex({ dir: join(folder, 'memory'), initialCapacity: 4096 });
if (index.load() === 'corrupt') throw new Error('the index was torn before this run');
const versionOf = (text: string) => Number(/^version = (\d+)$/m.exec(text)?.[1] ?? 0);
let version = versionOf(template);
const DIMENSION = 256;
for (let n = index.size; ; n++) {
  version++;
  writeCodex(codexPath, template.replace(/^version = \d+$/m, `version = ${version}`));
  process.stdout.write(`codex ${version}\n`);
  for (let i = 0; i < 50; i++) {
    const vector = Array.from({ length: DIMENSION }, (_, d) => Math.sin((n * 50 + i) * (d + 1)));
    index.add(`v${n}-${i}`, vector, 'test-embed');
  }
  index.save();
  process.stdout.write(`index ${index.size}\n`);
}
