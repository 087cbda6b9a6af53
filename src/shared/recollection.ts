import { clip } from './text.ts';

/**
 * How ALFRED's plan quotes a recalled dialogue, in one place: the graph writes the quote into the
 * prompt, and `/memory forget` finds the same quote in the prompts kept since (the interaction
 * log, the checkpoints, the golden sets, the fine-tune datasets) to cut it.
 */

/** The words of a recalled dialogue as a plan's prompt quotes them: its task and ALFRED's answer. */
export function recollectionQuote(task: string, answer: string): string {
  return `asked ${clip(task, 300, 'omitted')}\n  ALFRED concluded: ${clip(answer, 600, 'omitted')}`;
}

/** One recollection as a line (two, with ALFRED's answer) of the plan's "Related past dialogues". */
export function recollectionLine(recollection: {
  at: number;
  similarity: number;
  finalDissonance: number | null;
  task: string;
  answer: string;
}): string {
  const date = new Date(recollection.at).toISOString().slice(0, 10);
  const dissonance =
    recollection.finalDissonance === null
      ? ''
      : `, final dissonance ${recollection.finalDissonance.toFixed(2)}`;
  return `- ${date} (similarity ${recollection.similarity.toFixed(2)}${dissonance}): ${recollectionQuote(recollection.task, recollection.answer)}`;
}

/** What stands where a forgotten dialogue was quoted. */
export const FORGOTTEN_RECOLLECTION = '- (a past dialogue, since forgotten)';

/**
 * `text` with each recollection line that quotes `quote` replaced by {@link FORGOTTEN_RECOLLECTION}
 * (the quote alone when it stands outside such a line).
 */
export function cutRecollection(text: string, quote: string): string {
  if (!quote || !text.includes(quote)) return text;
  let out = '';
  let from = 0;
  for (let at = text.indexOf(quote); at !== -1; at = text.indexOf(quote, from)) {
    const lineStart = text.lastIndexOf('\n', at - 1) + 1;
    const prefix = text.slice(lineStart, at);
    const inLine = lineStart >= from && /^- .*: $/.test(prefix);
    out += inLine
      ? `${text.slice(from, lineStart)}${FORGOTTEN_RECOLLECTION}`
      : `${text.slice(from, at)}(forgotten)`;
    from = at + quote.length;
  }
  return out + text.slice(from);
}
