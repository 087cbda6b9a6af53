import { OllamaEmbeddings } from '@langchain/ollama';
import { deadlineSignal } from '../llm/deadline.ts';
import { toOllamaError } from '../llm/ollamaErrors.ts';

/** Text in, vector out. */
export interface Embedder {
  readonly model: string;
  embed(text: string): Promise<number[]>;
}

/** Ollama's `/api/embed` through `@langchain/ollama`. */
export function createOllamaEmbedder(options: { host: string; model: string; timeoutMs: number }): Embedder {
  // Retries are ours to make (queued records are embedded later), not LangChain's backoff.
  const embeddings = new OllamaEmbeddings({ model: options.model, baseUrl: options.host, maxRetries: 0 });
  return {
    model: options.model,
    async embed(text) {
      const deadline = deadlineSignal(options.timeoutMs);
      try {
        return await Promise.race([
          embeddings.embedQuery(text),
          new Promise<never>((_, reject) =>
            deadline.signal.addEventListener('abort', () => reject(deadline.signal.reason)),
          ),
        ]);
      } catch (error) {
        throw toOllamaError(error, {
          host: options.host,
          model: options.model,
          timeoutMs: options.timeoutMs,
        });
      } finally {
        deadline.clear();
      }
    },
  };
}
