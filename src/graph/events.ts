import type { NodeName, ToolCallRecord, TurnKind } from './state.ts';

/** A persona has started on its turn (LangGraph's `custom` stream). */
export interface ThinkingEvent {
  type: 'thinking';
  persona: string;
  node: NodeName;
}

/** A persona's call waits for a free model slot (`LLM_CONCURRENCY`). */
export interface QueuedEvent {
  type: 'queued';
  persona: string;
  /** 1-based place in the queue. */
  position: number;
  /** Why the model is not free, when it is lent to something (a fine-tune). */
  reason?: string;
}

/** A persona is calling a tool. */
export interface ToolCallEvent {
  type: 'tool_call';
  persona: string;
  tool: string;
}

/**
 * A persona's turn so far, as it streams (only when the run asks for streamed turns): the whole
 * text that may be shown yet, control lines held back. A tool call starts its words afresh.
 */
export interface PartialEvent {
  type: 'partial';
  persona: string;
  node: NodeName;
  text: string;
}

/** A persona's tool call came back (before its turn is over). */
export interface ToolResultEvent {
  type: 'tool_result';
  persona: string;
  call: ToolCallRecord;
}

/** What the nodes write to LangGraph's `custom` stream while a turn is under way. */
export type ProgressEvent = ThinkingEvent | QueuedEvent | ToolCallEvent | ToolResultEvent | PartialEvent;

/** A persona finished a turn: delivered as soon as it completes. */
export interface TurnEvent {
  type: 'turn';
  /** Persona id, or `TOOL_FORGE`. */
  persona: string;
  node: NodeName;
  kind: TurnKind;
  /** The turn as it should be shown (control lines removed). */
  text: string;
  /** The conversation's run the turn belongs to (1 for its first message, 2 for the next, …). */
  run: number;
  /** 1 for ALFRED's plan, then counting every turn of this run. */
  turn: number;
  /** BRICK⇄ROBIN round (0 for the plan). */
  round: number;
  /** ROBIN's dissonance, 0–1, on his turns. */
  dissonance?: number;
  model?: string;
  /** Tools the persona called before its final words. */
  toolCalls?: ToolCallRecord[];
  /** For a forge turn: the tool created or reused. */
  forged?: { name: string; version: number; status: 'created' | 'reused' };
}

/** The run finished. */
export interface DoneEvent {
  type: 'done';
  conversationId: string;
  /** The conversation's run number. */
  run: number;
  answer: string;
  /** Final dissonance; null when ROBIN never spoke. */
  dissonance: number | null;
  trajectory: number[];
  rounds: number;
  /** Parsing fallbacks and ignored markers. */
  warnings: string[];
}

export type DialogueEvent = ProgressEvent | TurnEvent | DoneEvent;
