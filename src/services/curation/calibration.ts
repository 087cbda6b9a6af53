import { type Agreement, agreementOf, judgeLabel, type Label } from './agreement.ts';
import type { CurationLedger } from './curationLedger.ts';

/**
 * Calibrating the judge against people's labels (`npm run curate -- --calibrate <file>`): a file
 * of human labels, one JSON object a line, compared with the verdicts the judge stored.
 *
 * The format: each line `{"interaction_id": "…", "persona": "ROBIN", "label": "good"}`, where
 * `interaction_id` is a dialogue's record in the interaction log (a golden sample's
 * `meta.interaction_id`), `persona` the persona whose part is labelled, and `label` `good` (worth
 * learning from) or `bad`. Blank lines are skipped and other keys ignored (a note may ride along);
 * a pair labelled twice is a mistake.
 */

/** One line of a labels file, read. */
export interface HumanLabel {
  interactionId: string;
  persona: string;
  label: Label;
  /** 1-based line in the file. */
  line: number;
}

/** Why a line of a labels file could not be read. */
export interface LabelProblem {
  line: number;
  problem: string;
}

const PERSONA_ID = /^[A-Z][A-Z0-9_]{0,31}$/;

/** The problems of one parsed line, or its label. */
function readLine(value: unknown, line: number): HumanLabel | string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return ['expected a JSON object'];
  const fields = value as Record<string, unknown>;
  const problems: string[] = [];
  const id = fields.interaction_id;
  if (typeof id !== 'string' || !id.trim()) problems.push('"interaction_id" must be a non-empty string');
  const persona = typeof fields.persona === 'string' ? fields.persona.trim().toUpperCase() : '';
  if (!PERSONA_ID.test(persona)) problems.push('"persona" must be a persona id such as "ROBIN"');
  const label = typeof fields.label === 'string' ? fields.label.trim().toLowerCase() : '';
  if (label !== 'good' && label !== 'bad') problems.push('"label" must be "good" or "bad"');
  if (problems.length > 0) return problems;
  return { interactionId: (id as string).trim(), persona, label: label as Label, line };
}

/** Reads a labels file: every label, and every line that is not one, with why. */
export function parseLabels(text: string): { labels: HumanLabel[]; problems: LabelProblem[] } {
  const labels: HumanLabel[] = [];
  const problems: LabelProblem[] = [];
  const firstLine = new Map<string, number>();
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    if (!raw.trim()) return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (error) {
      problems.push({ line, problem: `not JSON (${(error as Error).message})` });
      return;
    }
    const read = readLine(value, line);
    if (Array.isArray(read)) {
      problems.push({ line, problem: read.join('; ') });
      return;
    }
    const key = `${read.interactionId} ${read.persona}`;
    const first = firstLine.get(key);
    if (first !== undefined) {
      problems.push({
        line,
        problem: `${read.persona} in ${read.interactionId} is labelled twice (first on line ${first})`,
      });
      return;
    }
    firstLine.set(key, line);
    labels.push(read);
  });
  return { labels, problems };
}

/** The judge against a file of labels. */
export interface Calibration {
  /** Over the labels whose part the judge has judged. */
  agreement: Agreement;
  /** Labels read. */
  labels: number;
  /** Labels the judge made no call on: not judged yet, unknown, or its verdict unusable. */
  unjudged: HumanLabel[];
}

/** Compares each label with the judge's stored verdict on the same persona's part of the same dialogue. */
export async function calibrate(
  ledger: Pick<CurationLedger, 'verdictsOf'>,
  labels: readonly HumanLabel[],
): Promise<Calibration> {
  const pairs: Array<{ judge: Label; people: Label }> = [];
  const unjudged: HumanLabel[] = [];
  for (const label of labels) {
    const verdict = (await ledger.verdictsOf(label.interactionId)).find((v) => v.persona === label.persona);
    const judge = verdict ? judgeLabel(verdict) : undefined;
    if (judge) pairs.push({ judge, people: label.label });
    else unjudged.push(label);
  }
  return { agreement: agreementOf(pairs), labels: labels.length, unjudged };
}
