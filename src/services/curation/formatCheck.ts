import { truncate } from '../../shared/text.ts';
import type { RecordedTurn } from '../memory/interactionLog.ts';
import { REASON_CHARS, type Verdict } from './verdict.ts';

/**
 * The dialogue's own reading of a persona's control lines (`DISSONANCE:`, `TOOL_REQUIRED:`,
 * `TOOL_CALL:`): true when a turn's are well formed.
 */
export type FormatOk = (personaId: string, text: string) => boolean;

/**
 * The judge's verdict, with the format point taken away where the dialogue's parser finds a
 * control line malformed: the parser that runs the dialogue is surer of the format than the judge.
 */
export function checkFormat(
  formatOk: FormatOk | undefined,
  personaId: string,
  turns: readonly RecordedTurn[],
  verdict: Verdict,
): Verdict {
  if (!formatOk || verdict.scores.format === 0) return verdict;
  if (turns.every((turn) => formatOk(personaId, turn.output))) return verdict;
  return {
    scores: { ...verdict.scores, format: 0 },
    total: verdict.total - 1,
    reason: truncate(`${verdict.reason} (format checked: a control line is malformed)`, REASON_CHARS),
  };
}
