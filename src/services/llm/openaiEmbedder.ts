import { createLazy } from '../../shared/lazy.ts';
import { createEmbedder, type Embedder } from './embedder.ts';
import type { Limiter } from './limiter.ts';
import { toOpenAIError } from './openaiModels.ts';

/** `/v1/embeddings` of an OpenAI-compatible server (`EMBED_PROVIDER=openai`), through `@langchain/openai`. */
export function createOpenAIEmbedder(options: {
  baseUrl: string;
  apiKey: string | undefined;
  model: string;
  timeoutMs: number;
  limiter?: Limiter;
}): Embedder {
  // LangChain's OpenAI client loads with the first embedding (an idle bot embeds nothing).
  const embeddings = createLazy(async () => {
    const { OpenAIEmbeddings } = await import('@langchain/openai');
    return new OpenAIEmbeddings({
      model: options.model,
      apiKey: options.apiKey ?? 'not-needed',
      // Retries are ours to make (queued records are embedded later), not the client's backoff.
      maxRetries: 0,
      // Plain floats, the format every compatible server speaks (the client would ask for base64).
      encodingFormat: 'float',
      configuration: { baseURL: options.baseUrl },
    });
  });
  return createEmbedder({
    model: options.model,
    timeoutMs: options.timeoutMs,
    ...(options.limiter ? { limiter: options.limiter, server: options.baseUrl } : {}),
    embedQuery: async (text) => (await embeddings.get()).embedQuery(text),
    toError: (error) =>
      toOpenAIError(error, {
        baseUrl: options.baseUrl,
        model: options.model,
        timeoutMs: options.timeoutMs,
        setting: 'EMBED_MODEL',
      }),
  });
}
