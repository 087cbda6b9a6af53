import { readFileSync } from 'node:fs';
import { type Calibration, type HumanLabel, parseLabels } from '../../services/curation/calibration.ts';
import { plural } from '../../shared/text.ts';
import type { Runtime } from '../compose.ts';

/**
 * `npm run curate -- --calibrate <labelled.jsonl>`: the judge's stored verdicts against a file of
 * people's labels (its format: services/curation/calibration.ts and the README).
 */

/** At most this many problems of a labels file are listed; the rest are counted. */
const SHOWN_PROBLEMS = 20;

/** A labels file read: its labels, or every problem as `file:line: problem`. */
export function readLabelsFile(path: string): { labels: HumanLabel[] } | { problems: string[] } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    return { problems: [`${path}: cannot read it (${(error as NodeJS.ErrnoException).code ?? error})`] };
  }
  const { labels, problems } = parseLabels(text);
  if (problems.length > 0) {
    const listed = problems
      .slice(0, SHOWN_PROBLEMS)
      .map(({ line, problem }) => `${path}:${line}: ${problem}`);
    if (problems.length > SHOWN_PROBLEMS)
      listed.push(`… and ${plural(problems.length - SHOWN_PROBLEMS, 'more line')} like these`);
    return { problems: listed };
  }
  if (labels.length === 0) return { problems: [`${path}: no labels in it`] };
  return { labels };
}

/** The calibration in words: the agreement, kappa, the four counts, and the labels left out. */
export function calibrationText(calibration: Calibration, path: string): string {
  const { agreement, unjudged } = calibration;
  const { table: t } = agreement;
  const lines = [
    `Calibration against ${path}: ${plural(calibration.labels, 'label')}, ${agreement.compared} of them on parts the judge has judged.`,
  ];
  if (agreement.compared > 0) {
    const kappa = agreement.kappa === null ? 'undefined (one call throughout)' : agreement.kappa.toFixed(2);
    lines.push(
      `The judge and the labels agree on ${agreement.agreed} of ${agreement.compared} (${Math.round((agreement.share ?? 0) * 100)}%); Cohen's kappa ${kappa}.`,
      '',
      '                 labelled good   labelled bad',
      `judge kept       ${String(t.keptGood).padStart(13)}   ${String(t.keptBad).padStart(12)}`,
      `judge refused    ${String(t.refusedGood).padStart(13)}   ${String(t.refusedBad).padStart(12)}`,
    );
  }
  if (unjudged.length > 0) {
    const shown = unjudged
      .slice(0, 10)
      .map((label) => `${label.persona} in ${label.interactionId} (line ${label.line})`);
    const more = unjudged.length > shown.length ? `, and ${unjudged.length - shown.length} more` : '';
    lines.push(
      '',
      `Not judged (not curated yet, unknown, or an unusable verdict): ${shown.join(', ')}${more}.`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** Compares the runtime's stored verdicts with the file's labels and prints the result; the exit code. */
export async function calibrateWith(
  runtime: Pick<Runtime, 'curation'>,
  labels: readonly HumanLabel[],
  path: string,
  write: (text: string) => void,
): Promise<number> {
  write(calibrationText(await runtime.curation.calibrate(labels), path));
  return 0;
}
