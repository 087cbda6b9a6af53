import type { Logger } from '../logger.ts';
import { embeddingKey, type ToolEmbeddings, textsOf } from './toolEmbeddings.ts';
import type { StoredTool } from './toolRegistry.ts';

/** How close a tool is to a text: by embeddings when the model answers, by shared words otherwise. */

export interface ToolMatch {
  tool: StoredTool;
  similarity: number;
}

const words = (text: string) => new Set(text.toLowerCase().match(/[a-z0-9]+/g) ?? []);

/** Word overlap (Jaccard), for when the embedding model cannot be reached. */
export function lexicalSimilarity(a: string, b: string): number {
  const left = words(a);
  const right = words(b);
  if (left.size === 0 || right.size === 0) return 0;
  let shared = 0;
  for (const word of left) if (right.has(word)) shared++;
  return shared / (left.size + right.size - shared);
}

export function cosine(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length || a.length === 0) return 0;
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

/**
 * Similarity of `query` to each tool (to its description, and to its spec too when `useSpec`),
 * most similar first: embeddings when possible, word overlap otherwise.
 */
export async function rankTools(
  deps: { embeddings: ToolEmbeddings; logger: Logger },
  tools: readonly StoredTool[],
  query: string,
  useSpec: boolean,
): Promise<ToolMatch[]> {
  if (tools.length === 0) return [];
  const { embeddings, logger } = deps;
  let queryVector: number[] | undefined;
  try {
    queryVector = embeddings.embedder ? await embeddings.embedder.embed(query, { reuse: true }) : undefined;
  } catch (error) {
    logger.warn({ err: error }, 'could not embed for tool retrieval; using word overlap');
  }
  const before = embeddings.size;
  const matches: ToolMatch[] = [];
  for (const tool of tools) {
    const texts = textsOf(tool);
    let similarity = Math.max(
      lexicalSimilarity(query, texts.description),
      useSpec ? lexicalSimilarity(query, texts.spec) : 0,
    );
    if (queryVector) {
      try {
        const description = await embeddings.vectorFor(embeddingKey(tool, 'description'), texts.description);
        const spec = useSpec ? await embeddings.vectorFor(embeddingKey(tool, 'spec'), texts.spec) : undefined;
        similarity = Math.max(
          description ? cosine(queryVector, description) : similarity,
          spec ? cosine(queryVector, spec) : 0,
        );
      } catch (error) {
        logger.warn({ err: error, tool: tool.manifest.name }, 'could not embed a tool description');
      }
    }
    matches.push({ tool, similarity });
  }
  if (embeddings.size !== before) embeddings.save();
  return matches.sort((a, b) => b.similarity - a.similarity);
}
