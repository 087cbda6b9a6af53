/**
 * `npm run bench`: every benchmark, written to bench/RESULTS.md with the machine and the date.
 * `npm run bench -- sandbox` (or any name below) measures those again: their sections of RESULTS.md are
 * replaced, the others kept.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, freemem, platform, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { benchCuration } from './curation.bench.ts';
import { benchOverhead, benchSoak, benchThreads } from './dialogue.bench.ts';
import { benchRegister } from './register.bench.ts';
import { benchSandbox } from './sandbox.bench.ts';
import { benchScale } from './scale.bench.ts';
import { benchStartup } from './startup.bench.ts';
import { benchStreaming } from './streaming.bench.ts';
import { benchRemember, benchVectorIndex } from './vectorIndex.bench.ts';

const benches: Record<string, () => string | Promise<string>> = {
  curation: benchCuration,
  memory: benchVectorIndex,
  remember: benchRemember,
  sandbox: benchSandbox,
  register: benchRegister,
  streaming: benchStreaming,
  // Start-up and the dialogue against the floor client (they run the build: `npm run build` first).
  startup: () => benchStartup(),
  overhead: benchOverhead,
  soak: benchSoak,
  threads: benchThreads,
  scale: benchScale,
};
const only = process.argv.slice(2);
const unknown = only.filter((name) => !(name in benches));
if (unknown.length) {
  process.stderr.write(
    `unknown bench ${unknown.join(', ')}; choose from ${Object.keys(benches).join(', ')}\n`,
  );
  process.exit(2);
}
const mb = (b: number) => `${(b / 1e6).toFixed(0)} MB`;
const machine = `${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length} cores, ${mb(totalmem())} memory (${mb(freemem())} free), ${platform()} ${release()}, Node ${process.version}`;
const path = join(import.meta.dirname, 'RESULTS.md');
const MARK = /^<!-- bench:(\w+) -->$/m;

/** The sections of an earlier RESULTS.md, by name (each starts with its marker line). */
function readSections(): Map<string, string> {
  const sections = new Map<string, string>();
  if (!existsSync(path)) return sections;
  const parts = readFileSync(path, 'utf8').split(/(?=^<!-- bench:\w+ -->$)/m);
  for (const part of parts) {
    const name = MARK.exec(part)?.[1];
    if (name) sections.set(name, part.trimEnd());
  }
  return sections;
}

// A run of some benches replaces their sections and keeps the others', each dated. A section no
// bench writes (measured by hand: a fresh clone's install, say) is kept as it is, after the rest.
const sections = new Map([...readSections()].filter(([name]) => only.length > 0 || !(name in benches)));
for (const [name, bench] of Object.entries(benches)) {
  if (only.length && !only.includes(name)) continue;
  process.stdout.write(`— ${name}\n`);
  const text = (await bench()).trimEnd();
  process.stdout.write(`${text}\n`);
  sections.set(
    name,
    `<!-- bench:${name} -->\n${text}\n\n_Measured ${new Date().toISOString()} on ${machine}._`,
  );
}
const report = `# Benchmarks

Written by \`npm run bench\` (\`npm run bench -- <name>\` measures one section again and keeps the rest). Each
section says when and on what it was measured; ratios compare runs made side by side in the same section.

${[...Object.keys(benches), ...[...sections.keys()].filter((name) => !(name in benches))]
  .flatMap((name) => sections.get(name) ?? [])
  .join('\n\n')}
`;
writeFileSync(path, report);
