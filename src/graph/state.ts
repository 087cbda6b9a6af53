import { Annotation } from '@langchain/langgraph';
import type { RecordedMessage, RecordedToolCall } from '../services/memory/interactionLog.ts';

/** The graph's node names, as in the seed. */
export const NODE_NAMES = ['alfred_plan', 'brick', 'robin', 'tool_forge', 'alfred_synthesize'] as const;

export type NodeName = (typeof NODE_NAMES)[number];

/** Whether a key of a stream chunk names one of the graph's nodes. */
export function isNodeName(key: string): key is NodeName {
  return NODE_NAMES.some((name) => name === key);
}

export type TurnKind = 'task' | 'plan' | 'thesis' | 'antithesis' | 'tool' | 'answer';

/** A tool a persona called during its turn, and what came back (as the interaction log keeps it). */
export type ToolCallRecord = RecordedToolCall;

/** One utterance in a conversation, kept in the checkpoint. */
export interface Turn {
  /** `USER`, a persona id, or `TOOL_FORGE`. */
  speaker: string;
  kind: TurnKind;
  /** Exactly what was said (for a persona: the model's whole output). */
  content: string;
  /** What to show: the content without the trailing control line (`DISSONANCE:`, `TOOL_REQUIRED:`). */
  display: string;
  /** Which run of the conversation (1 for the first message, 2 for the next, …). */
  run: number;
  /** BRICK⇄ROBIN round within the run (0 for the task and the plan). */
  round: number;
  /** ROBIN's parsed dissonance, 0–1. */
  dissonance?: number;
  /** Milliseconds since the epoch. */
  at: number;
  /** Ollama model that produced it. */
  model?: string;
  /** The system prompt the persona was given, as sent, for the interaction log. */
  system?: string;
  /** The prompt the persona answered (its system prompt aside), for the interaction log. */
  prompt?: string;
  /** Its tool-call exchange within the turn, as sent (see {@link RecordedMessage}). */
  exchange?: RecordedMessage[];
  /** Tools the persona called before its final words, in order. */
  toolCalls?: ToolCallRecord[];
  /** On a forge turn: the tool created or reused. */
  forged?: { name: string; version: number; status: 'created' | 'reused' };
  /** On ALFRED's plan: the interaction log records of the past dialogues recalled into its prompt. */
  recalled?: string[];
}

/**
 * The dialogue state. `turns` accumulates over the whole conversation; the rest describes the
 * current run and is reset by the input of each run.
 */
export const DialogueState = Annotation.Root({
  turns: Annotation<Turn[]>({ reducer: (left, right) => left.concat(right), default: () => [] }),
  /** The current run's number (see {@link Turn.run}). */
  run: Annotation<number>(),
  /** The human message that started this run. */
  task: Annotation<string>(),
  /** ALFRED's plan for this run. */
  plan: Annotation<string>(),
  /** Completed BRICK⇄ROBIN rounds in this run. */
  round: Annotation<number>(),
  /** ROBIN's latest dissonance, 0–1; null before his first turn. */
  dissonance: Annotation<number | null>(),
  /** Every dissonance of this run, in order. */
  trajectory: Annotation<number[]>(),
  /** BRICK's pending `TOOL_REQUIRED` spec, cleared by the forge. */
  toolSpec: Annotation<string | null>(),
  /** Names of the tools offered to the personas in this run (relevant ones, and those forged). */
  tools: Annotation<string[]>(),
  /** How many times this run has visited the forge. */
  toolRequests: Annotation<number>(),
  /** Parsing fallbacks and ignored markers of this run, for logs and the caller. */
  warnings: Annotation<string[]>(),
  /** ALFRED's final answer of this run. */
  answer: Annotation<string>(),
});

export type DialogueStateValue = typeof DialogueState.State;
export type DialogueStateUpdate = typeof DialogueState.Update;

/** What a node returns: the fields it changes, its new turns as a plain list (never an overwrite). */
export type NodeUpdate = Partial<DialogueStateValue>;
