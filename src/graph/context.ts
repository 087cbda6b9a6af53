import { clip } from '../shared/text.ts';
import type { Turn } from './state.ts';

/** Bounds on what each prompt may carry, so a long conversation never grows a prompt without limit. */
export interface ContextLimits {
  /** Turns of the current run passed verbatim (most recent). Default 6. */
  recentTurns: number;
  /** Characters kept of each of those turns. Default 1500. */
  turnChars: number;
  /** Characters for the summary of earlier runs. Default 2000. */
  summaryChars: number;
  /** Characters kept of the task itself. Default 8000. */
  taskChars: number;
  /** Characters for recalled past dialogues in ALFRED's plan. Default 2000. */
  recallChars: number;
}

export const DEFAULT_CONTEXT_LIMITS: ContextLimits = {
  recentTurns: 6,
  turnChars: 1500,
  summaryChars: 2000,
  taskChars: 8000,
  recallChars: 2000,
};

/**
 * The earlier runs' words that the prompts show as "Earlier in this conversation": each earlier
 * task and ALFRED's answer to it, whole. A persona of this run did not write them, so a control
 * line copied from them counts no more than one copied from the task.
 */
export function earlierRunsText(turns: readonly Turn[], currentRun: number): string[] {
  return turns.flatMap((turn) => {
    if (turn.run >= currentRun) return [];
    if (turn.kind === 'task') return [turn.content];
    return turn.kind === 'answer' ? [...new Set([turn.content, turn.display])] : [];
  });
}

/**
 * A compact summary of the conversation's earlier runs: each earlier task and ALFRED's answer
 * to it, newest kept first when the budget runs out.
 */
export function summarizeEarlierRuns(turns: readonly Turn[], currentRun: number, maxChars: number): string {
  const runs = new Map<number, { task?: string; answer?: string }>();
  for (const turn of turns) {
    if (turn.run >= currentRun) continue;
    const entry = runs.get(turn.run) ?? {};
    if (turn.kind === 'task') entry.task = turn.content;
    if (turn.kind === 'answer') entry.answer = turn.display;
    runs.set(turn.run, entry);
  }
  const lines: string[] = [];
  let used = 0;
  let omitted = 0;
  for (const [run, { task, answer }] of [...runs.entries()].sort((a, b) => b[0] - a[0])) {
    const line = `- Earlier request ${run}: ${clip(task ?? '(none)', 300, 'omitted')}\n  ALFRED's answer: ${clip(answer ?? '(unfinished)', 500, 'omitted')}`;
    if (used + line.length > maxChars) {
      omitted++;
      continue;
    }
    lines.unshift(line);
    used += line.length;
  }
  if (omitted > 0) lines.unshift(`(${omitted} older exchange${omitted > 1 ? 's' : ''} omitted)`);
  return lines.join('\n');
}

/** The last turns of the current run (the task itself excluded), each clipped. */
export function recentTurns(turns: readonly Turn[], currentRun: number, limits: ContextLimits): Turn[] {
  return turns
    .filter((turn) => turn.run === currentRun && turn.kind !== 'task')
    .slice(-limits.recentTurns)
    .map((turn) => ({ ...turn, display: clip(turn.display, limits.turnChars, 'omitted') }));
}

/** The latest turn of one speaker in the current run. */
export function latestTurn(turns: readonly Turn[], currentRun: number, speaker: string): Turn | undefined {
  return turns.findLast((turn) => turn.run === currentRun && turn.speaker === speaker);
}
