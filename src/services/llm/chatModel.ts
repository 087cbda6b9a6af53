/** Who may serve a model: Ollama, or any server that speaks OpenAI's chat completions. */
export const LLM_PROVIDERS = ['ollama', 'openai'] as const;
export type LlmProvider = (typeof LLM_PROVIDERS)[number];

/** One message sent to a persona's model. */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ChatCallOptions {
  /** Cancels the call (shutdown, a superseded run). */
  signal?: AbortSignal;
  /** Called with the 1-based queue position when the call must wait for a free model slot. */
  onQueued?: (position: number, reason?: string) => void;
  /**
   * Streams the answer: called with each piece of text as it arrives (the whole text is still
   * returned at the end). A stream that breaks off after a piece was delivered is not retried.
   */
  onToken?: (text: string) => void;
  /** Model-queue priority: 0 (default) for people's dialogues, lower for background work. */
  priority?: number;
  /** Constrains the answer: `'json'`, or a JSON Schema it must match (Ollama's structured outputs). */
  format?: 'json' | Record<string, unknown>;
}

/**
 * What the dialogue graph needs from a model: messages in, text out. The Ollama adapter
 * implements it over `@langchain/ollama`; tests may wrap LangChain's fake chat models.
 */
export interface ChatModel {
  /** The model name, for logs and records. */
  readonly model: string;
  invoke(messages: readonly ChatMessage[], options?: ChatCallOptions): Promise<string>;
}

/** What may differ from a persona's own settings for one use (an evaluation, a judge). */
export interface ModelOverrides {
  /** Another model (a fine-tuned candidate, the judge's own model). */
  model?: string;
  temperature?: number;
  /** Who serves `model`, where it is not whoever serves the persona (a judge's model on the other server). */
  provider?: LlmProvider;
}

/**
 * Picks the model that speaks for a persona id: the fine-tuned version in force when there is
 * one, else the codex's model; `overrides` for one use.
 */
export type ModelFor = (personaId: string, overrides?: ModelOverrides) => ChatModel;

/** Flattens LangChain message content (a string or content blocks) into text. */
export function contentToText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((block) => (typeof block === 'string' ? block : ((block as { text?: unknown }).text ?? '')))
      .filter((text): text is string => typeof text === 'string')
      .join('');
  }
  return '';
}
