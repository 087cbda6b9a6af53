/**
 * Run with `node --import tsx … <codex path>`: rewrites the codex (a version a line), forever,
 * printing `codex <version>` after each completed write. A crash test kills it at random moments.
 * (The memory index has its own writers: `memoryWriter.ts`.)
 */
import { readFileSync } from 'node:fs';
import { writeCodex } from '../../../src/services/governance/codexFile.ts';

const [codexPath = ''] = process.argv.slice(2);
const template = readFileSync(codexPath, 'utf8');
const versionOf = (text: string) => Number(/^version = (\d+)$/m.exec(text)?.[1] ?? 0);
for (let version = versionOf(template) + 1; ; version++) {
  writeCodex(codexPath, template.replace(/^version = \d+$/m, `version = ${version}`));
  process.stdout.write(`codex ${version}\n`);
}
