import { existsSync, readFileSync } from 'node:fs';
import { sha256 } from '../../shared/hash.ts';
import { writeFileDurably } from '../durableWrite.ts';
import type { Embedder } from '../llm/embedder.ts';
import type { Logger } from '../logger.ts';
import type { StoredTool } from './toolRegistry.ts';

interface EmbeddingEntry {
  hash: string;
  vector: number[];
}

interface EmbeddingFile {
  model: string;
  entries: Record<string, EmbeddingEntry>;
}

/** The texts a tool is found by. */
export const textsOf = (tool: StoredTool) => ({
  description: `${tool.manifest.name.replace(/_/g, ' ')}: ${tool.manifest.description}`,
  spec: tool.manifest.spec,
});

/** The key of a tool version's text in the cache. */
export const embeddingKey = (tool: StoredTool, text: 'description' | 'spec') =>
  `${tool.manifest.name}@${tool.manifest.version}:${text}`;

/**
 * The embeddings of tools' descriptions and specs, cached in a file (by tool version and text
 * hash, for one embedding model) so that ranking the shelf does not embed it again at each start.
 */
export class ToolEmbeddings {
  private cache: EmbeddingFile;

  constructor(
    readonly embedder: Embedder | undefined,
    /** Where the cache is kept, e.g. `DATA_DIR/tools/embeddings.json`; none: in memory only. */
    private readonly path: string | undefined,
    private readonly logger: Logger,
  ) {
    this.cache = { model: embedder?.model ?? '', entries: {} };
    if (path && existsSync(path)) {
      try {
        const loaded = JSON.parse(readFileSync(path, 'utf8')) as EmbeddingFile;
        if (loaded.model === this.cache.model && loaded.entries) this.cache = loaded;
      } catch (error) {
        logger.warn({ err: error }, 'tool embeddings unreadable; they will be recomputed');
      }
    }
  }

  /** How many vectors are cached (a change tells that the file needs saving). */
  get size(): number {
    return Object.keys(this.cache.entries).length;
  }

  /** The vector for a text, from the cache or the embedder; undefined when it cannot be had. */
  async vectorFor(key: string, text: string): Promise<number[] | undefined> {
    const hash = sha256(text);
    const cached = this.cache.entries[key];
    if (cached && cached.hash === hash) return cached.vector;
    if (!this.embedder) return undefined;
    const vector = await this.embedder.embed(text);
    this.cache.entries[key] = { hash, vector };
    return vector;
  }

  /** Embeds a (new) tool's description and spec; failures are logged, not thrown. */
  async index(tool: StoredTool): Promise<void> {
    // Only the new tool's own texts: the others are cached already.
    const texts = textsOf(tool);
    try {
      await this.vectorFor(embeddingKey(tool, 'description'), texts.description);
      await this.vectorFor(embeddingKey(tool, 'spec'), texts.spec);
      this.save();
    } catch (error) {
      this.logger.warn({ err: error, tool: tool.manifest.name }, 'could not index a tool');
    }
  }

  /** Drops every version of a tool. */
  forget(name: string): void {
    for (const key of Object.keys(this.cache.entries))
      if (key.startsWith(`${name}@`)) delete this.cache.entries[key];
    this.save();
  }

  save(): void {
    if (!this.path) return;
    writeFileDurably(this.path, JSON.stringify(this.cache));
  }
}
