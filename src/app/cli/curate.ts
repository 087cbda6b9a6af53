import { parseArgs } from 'node:util';
import { judgeModelOf } from '../../services/codex/codexSchema.ts';
import { type CurationReport, type RunVerdict, summaryLine } from '../../services/curation/curation.ts';
import { findAppError } from '../../services/errors.ts';
import { truncate } from '../../shared/text.ts';
import { calibrateWith, readLabelsFile } from './calibrate.ts';
import { openCliRuntime } from './cliRuntime.ts';

const USAGE = `Usage: npm run curate -- [--dry-run] [--calibrate <labelled.jsonl>]

One curation run, as the bot's hourly job does it: the judge (the codex's [curation] table) scores
each persona's part of the dialogues finished since the last run, at most CURATION_BATCH of them,
and the parts that reach CURATION_THRESHOLD become golden samples in DATA_DIR/golden/.

  --dry-run            judge and print the verdicts; write nothing (no sample, no verdict, no
                       cursor, no log: DATA_DIR stays as it was, byte for byte; warnings go to the
                       terminal)
  --calibrate <file>   compare the judge's stored verdicts with people's labels, one JSON object a
                       line: {"interaction_id": "…", "persona": "ROBIN", "label": "good" | "bad"};
                       prints the agreement and Cohen's kappa; judges nothing, writes nothing
  -h, --help           show this help

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

/** The command line read: what to do, or the exit code when there is nothing more to do. */
function readArgs(argv: string[]): { dryRun: boolean; calibrate?: string } | number {
  try {
    const { values } = parseArgs({
      args: argv,
      options: {
        'dry-run': { type: 'boolean' },
        calibrate: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    if (values.calibrate !== undefined && values['dry-run'])
      throw new Error('--calibrate judges nothing: it does not take --dry-run');
    return {
      dryRun: values['dry-run'] ?? false,
      ...(values.calibrate !== undefined ? { calibrate: values.calibrate } : {}),
    };
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
}

/** `--calibrate <file>`: the file read first (every malformed line said), then the stored verdicts. */
async function calibrate(path: string): Promise<number> {
  const read = readLabelsFile(path);
  if ('problems' in read) {
    process.stderr.write(
      `${read.problems.join('\n')}\n\nNothing compared: fix the lines above. ${USAGE.split('\n')[0]}\n`,
    );
    return 2;
  }
  // It only reads: opened as the dry run is, so the data folder stays as it was.
  const runtime = await openCliRuntime('curate', process.stderr, describeError, { readOnly: true });
  if (!runtime) return 2;
  try {
    return await calibrateWith(runtime, read.labels, path, (text) => process.stdout.write(text));
  } finally {
    await runtime.close();
  }
}

async function main(argv = process.argv.slice(2)): Promise<number> {
  const args = readArgs(argv);
  if (typeof args === 'number') return args;
  if (args.calibrate !== undefined) return calibrate(args.calibrate);
  const { dryRun } = args;

  const runtime = await openCliRuntime('curate', process.stderr, describeError, { readOnly: dryRun });
  if (!runtime) return 2;
  const stop = () => void runtime.curation.close();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const judge = judgeModelOf(runtime.codex().data.curation, (id) => runtime.personas().get(id).model);
    await runtime.providers.check([judge]);
    if (!dryRun) {
      // The same rule as the bot's job: no curation while a codex amendment is being decided.
      const paused = await runtime.amendments.pausedReason();
      if (paused) {
        process.stderr.write(`Not run: autonomy is paused: ${paused}. Curation waits until it is decided.\n`);
        return 1;
      }
      const started = await runtime.curation.start();
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
