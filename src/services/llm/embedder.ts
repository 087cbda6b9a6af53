import { createLazy } from '../../shared/lazy.ts';
import { deadlineSignal } from './deadline.ts';
import { toOllamaError } from './ollamaErrors.ts';

/** Text in, vector out. */
export interface Embedder {
  readonly model: string;
  /**
   * `reuse`: a query asked for again within a run (recall and tool retrieval both embed the task)
   * may get the vector of a recent identical text instead of another call.
   */
  embed(text: string, options?: { reuse?: boolean }): Promise<number[]>;
}

/** How many recent texts keep their vectors. */
const RECENT_TEXTS = 64;

/** Ollama's `/api/embed` through `@langchain/ollama`. */
export function createOllamaEmbedder(options: { host: string; model: string; timeoutMs: number }): Embedder {
  // Retries are ours to make (queued records are embedded later), not LangChain's backoff.
  // LangChain's client loads with the first embedding (an idle bot embeds nothing).
  const embeddings = createLazy(async () => {
    const { OllamaEmbeddings } = await import('@langchain/ollama');
    return new OllamaEmbeddings({ model: options.model, baseUrl: options.host, maxRetries: 0 });
  });
  return createEmbedder({
    model: options.model,
    timeoutMs: options.timeoutMs,
    embedQuery: async (text) => (await embeddings.get()).embedQuery(text),
    toError: (error) =>
      toOllamaError(error, { host: options.host, model: options.model, timeoutMs: options.timeoutMs }),
  });
}

/**
 * An embedder over any provider's one-text call: a deadline per call, errors in words that say
 * what to do, and the vectors of recent queries reused.
 */
export function createEmbedder(options: {
  model: string;
  timeoutMs: number;
  embedQuery: (text: string) => Promise<number[]>;
  toError: (error: unknown) => unknown;
}): Embedder {
  // A dialogue's task is embedded for memory recall and for tool retrieval: once is enough.
  // Only queries reuse: a record or a rebuild always asks the model (it may have changed).
  const recent = new Map<string, Promise<number[]>>();
  const remember = (text: string, vector: Promise<number[]>) => {
    recent.set(text, vector);
    if (recent.size > RECENT_TEXTS) recent.delete(recent.keys().next().value as string);
    vector.catch(() => recent.delete(text));
    return vector;
  };
  return {
    model: options.model,
    async embed(text, embedOptions = {}) {
      const cached = embedOptions.reuse ? recent.get(text) : undefined;
      // A copy each time: callers may keep or change their vector.
      return [...(await (cached ?? remember(text, embedOnce(text))))];
    },
  };

  async function embedOnce(text: string): Promise<number[]> {
    const deadline = deadlineSignal(options.timeoutMs);
    try {
      return await Promise.race([
        options.embedQuery(text),
        new Promise<never>((_, reject) =>
          deadline.signal.addEventListener('abort', () => reject(deadline.signal.reason)),
        ),
      ]);
    } catch (error) {
      throw options.toError(error);
    } finally {
      deadline.clear();
    }
  }
}
