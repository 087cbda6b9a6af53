import { createLazy } from '../../shared/lazy.ts';
import { deadlineSignal } from './deadline.ts';
import type { Limiter } from './limiter.ts';
import { toOllamaError } from './ollamaErrors.ts';

/** How an embedding is asked for. */
export interface EmbedOptions {
  /**
   * A query asked for again within a run (recall and tool retrieval both embed the task) may get
   * the vector of a recent identical text instead of another call.
   */
  reuse?: boolean;
  /** Its place in the model queue (default 0, as a person's dialogue; see `BACKGROUND_PRIORITY`). */
  priority?: number;
  /**
   * An embedding that may as well be made later (a recorded dialogue's: the record stays queued
   * for the next pass) does not wait while the model queue is held for a fine-tune: it fails
   * at once with MODEL_QUEUE_HELD.
   */
  leaveWhenHeld?: boolean;
}

/** Text in, vector out. */
export interface Embedder {
  readonly model: string;
  embed(text: string, options?: EmbedOptions): Promise<number[]>;
}

/** How many recent texts keep their vectors. */
const RECENT_TEXTS = 64;

/** Ollama's `/api/embed` through `@langchain/ollama`. */
export function createOllamaEmbedder(options: {
  host: string;
  model: string;
  timeoutMs: number;
  limiter?: Limiter;
}): Embedder {
  // Retries are ours to make (queued records are embedded later), not LangChain's backoff.
  // LangChain's client loads with the first embedding (an idle bot embeds nothing).
  const embeddings = createLazy(async () => {
    const { OllamaEmbeddings } = await import('@langchain/ollama');
    return new OllamaEmbeddings({ model: options.model, baseUrl: options.host, maxRetries: 0 });
  });
  return createEmbedder({
    model: options.model,
    timeoutMs: options.timeoutMs,
    ...(options.limiter ? { limiter: options.limiter, server: options.host } : {}),
    embedQuery: async (text) => (await embeddings.get()).embedQuery(text),
    toError: (error) =>
      toOllamaError(error, { host: options.host, model: options.model, timeoutMs: options.timeoutMs }),
  });
}

/**
 * An embedder over any provider's one-text call: a place in the model queue, a deadline per
 * call, errors in words that say what to do, and the vectors of recent queries reused.
 *
 * Embeddings wait in the same queue as the chats (`limiter`, their server's queue): while a
 * fine-tune has the GPU (`FINETUNE_EXCLUSIVE`), an embedding would load the embedding model beside
 * the trainer, so it waits like a dialogue's turn does. The deadline runs from when the call leaves
 * the queue.
 */
export function createEmbedder(options: {
  model: string;
  timeoutMs: number;
  /** The model queues; none: calls go straight to the server. */
  limiter?: Limiter;
  /** The server's base URL, whose queue the embeddings wait in with its chats. */
  server?: string;
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
      return [...(await (cached ?? remember(text, queued(text, embedOptions))))];
    },
  };

  function queued(text: string, embedOptions: EmbedOptions): Promise<number[]> {
    if (!options.limiter) return embedOnce(text);
    return options.limiter.run(() => embedOnce(text), {
      ...(options.server !== undefined ? { servers: [options.server] } : {}),
      ...(embedOptions.priority !== undefined ? { priority: embedOptions.priority } : {}),
      ...(embedOptions.leaveWhenHeld ? { leaveWhenHeld: true } : {}),
    });
  }

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
