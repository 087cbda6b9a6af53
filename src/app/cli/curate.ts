import { parseArgs } from 'node:util';
import { type CurationReport, type RunVerdict, summaryLine } from '../../services/curation/curation.ts';
import { findAppError } from '../../services/errors.ts';
import { truncate } from '../../shared/text.ts';
import { openCliRuntime } from './cliRuntime.ts';

const USAGE = `Usage: npm run curate -- [--dry-run]

One curation run, as the bot's hourly job does it: the judge (the codex's [curation] table) scores
each persona's part of the dialogues finished since the last run, at most CURATION_BATCH of them,
and the parts that reach CURATION_THRESHOLD become golden samples in DATA_DIR/golden/.

  --dry-run    judge and print the verdicts; write nothing (no sample, no verdict, no cursor, no
               log: DATA_DIR stays as it was, byte for byte; warnings go to the terminal)
  -h, --help   show this help

Settings come from the environment or .env (see .env.example). Logs go to DATA_DIR/logs/curate.log.`;

function describeError(error: unknown): string {
  return findAppError(error)?.message ?? (error instanceof Error ? error.message : String(error));
}

/** One verdict a line: `BRICK   4/5 kept     c-1a2b  task… — reason`. */
function verdictLine(verdict: RunVerdict): string {
  const score =
    verdict.status === 'judged'
      ? `${verdict.total}/5 ${verdict.kept ? 'kept' : 'rejected'}`
      : verdict.status === 'invalid'
        ? 'unusable verdict'
        : 'not recorded whole';
  const task = truncate(verdict.task.replace(/\s+/g, ' '), 40);
  return `${verdict.persona.padEnd(8)} ${score.padEnd(18)} ${verdict.conversationId.padEnd(20)} ${task} — ${verdict.reason}`;
}

function printReport(report: CurationReport, write: (text: string) => void): void {
  for (const verdict of report.verdicts) write(`${verdictLine(verdict)}\n`);
  write(`${summaryLine(report)}\n`);
}

async function main(argv = process.argv.slice(2)): Promise<number> {
  let dryRun: boolean;
  try {
    const { values } = parseArgs({
      args: argv,
      options: { 'dry-run': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    });
    if (values.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    dryRun = values['dry-run'] ?? false;
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}\n`);
    return 2;
  }

  const runtime = await openCliRuntime('curate', process.stderr, describeError, { readOnly: dryRun });
  if (!runtime) return 2;
  const stop = () => void runtime.curation.close();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const { judge, model } = runtime.codex().data.curation;
    await runtime.providers.check([{ persona: judge, model: model ?? runtime.personas().get(judge).model }]);
    if (!dryRun) {
      // The same rule as the bot's job: no curation while a codex amendment is being decided.
      const paused = runtime.amendments.pausedReason();
      if (paused) {
        process.stderr.write(`Not run: autonomy is paused: ${paused}. Curation waits until it is decided.\n`);
        return 1;
      }
      const started = runtime.curation.start();
      if ('repaired' in started) {
        for (const [persona, lines] of Object.entries(started.repaired)) {
          process.stderr.write(`Repaired ${persona}.jsonl: cut ${lines} torn line left by a crash.\n`);
        }
      }
    }
    const report = await runtime.curation.run({ dryRun });
    if (report.busy) {
      process.stderr.write(`Not run: another process (pid ${report.busy}) is curating the same data.\n`);
      return 1;
    }
    printReport(report, (text) => process.stdout.write(text));
    return report.stopped ? 1 : 0;
  } catch (error) {
    process.stderr.write(`error: ${describeError(error)}\n`);
    return 1;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await runtime.close();
  }
}

process.exit(await main());
