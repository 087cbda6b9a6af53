/**
 * `npm run bench`: every benchmark, written to bench/RESULTS.md with the machine and the date.
 * `npm run bench -- sandbox` (or `memory`, `remember`, `curation`, `streaming`) runs one; RESULTS.md is written only by a full run.
 */
import { writeFileSync } from 'node:fs';
import { cpus, freemem, platform, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { benchCuration } from './curation.bench.ts';
import { benchOverhead, benchSoak, benchThreads } from './dialogue.bench.ts';
import { benchSandbox } from './sandbox.bench.ts';
import { benchStartup } from './startup.bench.ts';
import { benchStreaming } from './streaming.bench.ts';
import { benchRemember, benchVectorIndex } from './vectorIndex.bench.ts';

const benches: Record<string, () => string | Promise<string>> = {
  curation: benchCuration,
  memory: benchVectorIndex,
  remember: benchRemember,
  sandbox: benchSandbox,
  streaming: benchStreaming,
  // Start-up and the dialogue against the floor client (they run the build: `npm run build` first).
  startup: () => benchStartup(),
  overhead: benchOverhead,
  soak: benchSoak,
  threads: benchThreads,
};
const only = process.argv.slice(2);
const unknown = only.filter((name) => !(name in benches));
if (unknown.length) {
  process.stderr.write(
    `unknown bench ${unknown.join(', ')}; choose from ${Object.keys(benches).join(', ')}\n`,
  );
  process.exit(2);
}
const sections: string[] = [];
for (const [name, bench] of Object.entries(benches)) {
  if (only.length && !only.includes(name)) continue;
  process.stdout.write(`— ${name}\n`);
  sections.push(await bench());
}
const mb = (b: number) => `${(b / 1e6).toFixed(0)} MB`;
const report = `# Benchmarks

Written by \`npm run bench\` on ${new Date().toISOString()}.

Machine: ${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length} cores, ${mb(totalmem())} memory (${mb(freemem())} free), ${platform()} ${release()}, Node ${process.version}.

${sections.join('\n')}`;
if (only.length === 0) writeFileSync(join(import.meta.dirname, 'RESULTS.md'), report);
process.stdout.write(report);
