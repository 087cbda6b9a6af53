import type { ChatMessage } from '../llm/chatModel.ts';
import type { DialogueRecord, RecordedToolCall, RecordedTurn } from '../memory/interactionLog.ts';
import type { Persona } from '../personas.ts';
import type { Rubric } from './rubric.ts';

/**
 * What the judge is shown: the whole dialogue as one JSON document (the task, every turn with its
 * speaker, the judged persona's turns marked with the prompt they answered, the final answer),
 * sent as the user message while the rubric is the system message. A dialogue's words reach the
 * judge only as JSON strings, escaped by `JSON.stringify`, so no task or turn can close the
 * transcript and speak to the judge as its instructions do.
 */

/**
 * Bounds on what the judge reads, in characters, so one dialogue and the rubric fit the judge's
 * context window (8192 tokens in the shipped codex).
 */
export const JUDGE_LIMITS = {
  taskChars: 2000,
  /** At least this much of the final answer is shown, whoever is judged. */
  answerChars: 2500,
  /** Shared by the judged persona's turns. */
  judgedChars: 8000,
  /** Shared by the other turns: the context the judged ones answered, clipped harder. */
  contextChars: 5000,
  /** Shared by the prompts of the judged turns (their start and end say the most). */
  promptChars: 3000,
  /** A tool call's input, and its result or error. */
  toolChars: 200,
} as const;

/**
 * Keeps the start and the end of a long text: a persona's closing lines (`DISSONANCE:`) are
 * scored, so they must stay in view.
 */
export function clipMiddle(text: string, max: number): string {
  const trimmed = text.trim();
  if (trimmed.length <= max) return trimmed;
  const tail = Math.floor(max / 3);
  const head = max - tail;
  return `${trimmed.slice(0, head).trimEnd()}\n[… ${trimmed.length - head - tail} characters left out …]\n${trimmed.slice(-tail).trimStart()}`;
}

/** A tool call as the judge reads it: the input as JSON text, and what came back. */
export interface TranscriptToolCall {
  tool: string;
  input: string;
  ok: boolean;
  result?: string;
  error?: string;
}

/** One turn of the transcript; `prompt` and `tool_calls` only on the judged persona's turns. */
export interface TranscriptTurn {
  /** 1-based, in the order spoken. */
  n: number;
  speaker: string;
  kind: string;
  judged: boolean;
  prompt?: string;
  tool_calls?: TranscriptToolCall[];
  text: string;
}

/** The dialogue as the judge reads it. */
export interface JudgeTranscript {
  task: string;
  turns: TranscriptTurn[];
  /** The turn that is the final answer (ALFRED's synthesis), when one is. */
  answer_turn?: number;
  /** The final answer's text, where no turn holds it. */
  answer?: string;
}

/** What the transcript is built from: a finished dialogue's record. */
export type JudgedDialogue = Pick<DialogueRecord, 'task' | 'answer' | 'turns'>;

/** One turn's share of a budget: an even split, never below `floor`. */
function share(budget: number, count: number, floor: number): number {
  return Math.max(floor, Math.floor(budget / Math.max(1, count)));
}

function toolCallOf(call: RecordedToolCall): TranscriptToolCall {
  const max = JUDGE_LIMITS.toolChars;
  const input = clipMiddle(JSON.stringify(call.input) ?? 'null', max);
  return call.ok
    ? { tool: call.tool, input, ok: true, result: clipMiddle(call.output ?? 'null', max) }
    : { tool: call.tool, input, ok: false, error: clipMiddle(call.error ?? '', max) };
}

/** The index of the turn that gave the final answer: the last answer whose words are the record's. */
function answerIndex(dialogue: JudgedDialogue): number {
  const answer = dialogue.answer.trim();
  return dialogue.turns.findLastIndex((turn) => turn.kind === 'answer' && turn.output.trim() === answer);
}

/** The dialogue as one JSON-ready document, `personaId`'s turns marked as the ones judged. */
export function judgeTranscript(dialogue: JudgedDialogue, personaId: string): JudgeTranscript {
  const judgedCount = dialogue.turns.filter((turn) => turn.speaker === personaId).length;
  const perJudged = share(JUDGE_LIMITS.judgedChars, judgedCount, 500);
  const perContext = share(JUDGE_LIMITS.contextChars, dialogue.turns.length - judgedCount, 300);
  const perPrompt = share(JUDGE_LIMITS.promptChars, judgedCount, 500);
  const answerAt = answerIndex(dialogue);
  const turns = dialogue.turns.map((turn: RecordedTurn, index): TranscriptTurn => {
    const judged = turn.speaker === personaId;
    const max = Math.max(judged ? perJudged : perContext, index === answerAt ? JUDGE_LIMITS.answerChars : 0);
    const base = { n: index + 1, speaker: turn.speaker, kind: turn.kind, judged };
    if (!judged) return { ...base, text: clipMiddle(turn.output, max) };
    return {
      ...base,
      ...(turn.prompt !== undefined ? { prompt: clipMiddle(turn.prompt, perPrompt) } : {}),
      ...(turn.toolCalls?.length ? { tool_calls: turn.toolCalls.map(toolCallOf) } : {}),
      text: clipMiddle(turn.output, max),
    };
  });
  const task = clipMiddle(dialogue.task, JUDGE_LIMITS.taskChars);
  return answerAt >= 0
    ? { task, turns, answer_turn: answerAt + 1 }
    : { task, turns, answer: clipMiddle(dialogue.answer, JUDGE_LIMITS.answerChars) };
}

/** The verdict's shape, said in words as well as given as the call's JSON Schema. */
const ANSWER_SHAPE =
  'Answer with JSON only: {"reason": "<one line: the decisive strength or flaw>", "scores": {"principles": 0 or 1, "reasoning": 0 or 1, "answers_task": 0 or 1, "format": 0 or 1, "no_harm": 0 or 1}, "total": <the sum of the scores>}';

/**
 * The judge's two messages: the rubric and how to answer as the system message, and the
 * transcript, alone and as JSON, as the user message.
 */
export function judgeMessages(
  judge: Persona,
  rubric: Rubric,
  dialogue: JudgedDialogue,
  personaId: string,
): ChatMessage[] {
  const system = [
    `You are ${judge.displayName}, acting as the impartial judge of the BAT OS: you score one persona's part of one finished dialogue for a training set of that persona's best work.`,
    rubric.text,
    ANSWER_SHAPE,
  ].join('\n\n');
  return [
    { role: 'system', content: system },
    { role: 'user', content: JSON.stringify(judgeTranscript(dialogue, personaId), null, 2) },
  ];
}
