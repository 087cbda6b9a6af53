import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Ajv, ValidateFunction } from 'ajv';
import { sha256 } from '../../shared/hash.ts';
import { writeFileDurably } from '../durableWrite.ts';
import type { Embedder } from '../llm/embedder.ts';
import type { Logger } from '../logger.ts';
import { checkToolCode } from './codeGate.ts';
import { describeFailureKind, type Sandbox } from './sandbox.ts';
import type { ToolBox, ToolCallOutcome, ToolInfo, ToolScope } from './toolPorts.ts';
import { type StoredTool, type ToolRegistry, visibleIn } from './toolRegistry.ts';

/**
 * The registered tools as the dialogue sees them: which are relevant to a task (by embedding
 * their descriptions), and calling one — input checked against its JSON Schema, code checked by
 * the static gate, run in the sandbox.
 */

interface EmbeddingEntry {
  hash: string;
  vector: number[];
}

interface EmbeddingFile {
  model: string;
  entries: Record<string, EmbeddingEntry>;
}

export interface ToolMatch {
  tool: StoredTool;
  similarity: number;
}

export interface ToolService extends ToolBox {
  readonly registry: ToolRegistry;
  readonly sandbox: Sandbox;
  /** The stored tools in scope (newest versions), by name. */
  shelf(scope?: ToolScope): StoredTool[];
  /** A stored tool by name, if the scope may see it. */
  find(name: string, scope?: ToolScope): StoredTool | undefined;
  /** The stored tool in scope whose description or spec is closest to `text`. */
  closest(text: string, scope?: ToolScope): Promise<ToolMatch | undefined>;
  /** Embeds a (new) tool's description and spec for retrieval; failures are logged, not thrown. */
  index(tool: StoredTool): Promise<void>;
  /** Archives a tool; returns where it went, or undefined when there is no such tool. */
  remove(name: string): string | undefined;
  /** Checks an input against a tool's schema; null when it is valid. */
  validate(tool: StoredTool, input: unknown): string | null;
}

export interface ToolServiceDeps {
  registry: ToolRegistry;
  sandbox: Sandbox;
  embedder?: Embedder;
  /** Where description embeddings are cached, e.g. `DATA_DIR/tools/embeddings.json`. */
  embeddingsPath?: string;
  logger: Logger;
  /** How many tools a dialogue is offered (default 3). */
  offered?: number;
  /** Told each sandboxed call's outcome (`ok`, or why it failed), for metrics. */
  onCall?: (outcome: string) => void;
  /** Least similarity for a tool to be offered (default 0.3). */
  relevanceFloor?: number;
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

/** Keywords whose regular expressions Ajv would run on the bot's own thread (ReDoS). */
const REGEX_KEYWORDS = new Set(['pattern', 'patternProperties']);

/** Where an input schema uses a regular expression, or null: tools' schemas may not. */
export function regexKeywordIn(schema: unknown, path = 'input_schema'): string | null {
  if (Array.isArray(schema)) {
    for (const [i, item] of schema.entries()) {
      const found = regexKeywordIn(item, `${path}[${i}]`);
      if (found) return found;
    }
    return null;
  }
  if (!schema || typeof schema !== 'object') return null;
  for (const [key, value] of Object.entries(schema)) {
    // Under `properties`, keys are property names, not keywords.
    if (REGEX_KEYWORDS.has(key) && !path.endsWith('.properties')) return `${path}.${key}`;
    const found = regexKeywordIn(value, `${path}.${key}`);
    if (found) return found;
  }
  return null;
}

export const toolInfo = (tool: StoredTool): ToolInfo => ({
  name: tool.manifest.name,
  version: tool.manifest.version,
  description: tool.manifest.description,
  inputSchema: tool.manifest.inputSchema,
});

/** The texts a tool is found by. */
const textsOf = (tool: StoredTool) => ({
  description: `${tool.manifest.name.replace(/_/g, ' ')}: ${tool.manifest.description}`,
  spec: tool.manifest.spec,
});

export function createToolService(deps: ToolServiceDeps): ToolService {
  const { registry, sandbox } = deps;
  const log = deps.logger.child({ module: 'tools' });
  const offered = deps.offered ?? 3;
  const floor = deps.relevanceFloor ?? 0.3;
  // Ajv loads with the first tool call (validation is synchronous: a require, not an import).
  let ajv: Ajv | undefined;
  const ajvNow = () => {
    ajv ??= new (createRequire(import.meta.url)('ajv') as typeof import('ajv')).Ajv({
      strict: false,
      allErrors: true,
    });
    return ajv;
  };
  const validators = new Map<string, ValidateFunction>();
  const gated = new Map<string, string | null>();
  let cache: EmbeddingFile = { model: deps.embedder?.model ?? '', entries: {} };

  if (deps.embeddingsPath && existsSync(deps.embeddingsPath)) {
    try {
      const loaded = JSON.parse(readFileSync(deps.embeddingsPath, 'utf8')) as EmbeddingFile;
      if (loaded.model === cache.model && loaded.entries) cache = loaded;
    } catch (error) {
      log.warn({ err: error }, 'tool embeddings unreadable; they will be recomputed');
    }
  }

  function save() {
    if (!deps.embeddingsPath) return;
    writeFileDurably(deps.embeddingsPath, JSON.stringify(cache));
  }

  /** The vector for a text, from the cache or the embedder; undefined when it cannot be had. */
  async function vectorFor(key: string, text: string): Promise<number[] | undefined> {
    const hash = sha256(text);
    const cached = cache.entries[key];
    if (cached && cached.hash === hash) return cached.vector;
    if (!deps.embedder) return undefined;
    const vector = await deps.embedder.embed(text);
    cache.entries[key] = { hash, vector };
    return vector;
  }

  /** Similarity of `query` to each tool: embeddings when possible, word overlap otherwise. */
  async function rank(query: string, useSpec: boolean, scope: ToolScope): Promise<ToolMatch[]> {
    const tools = inScope(scope);
    if (tools.length === 0) return [];
    let queryVector: number[] | undefined;
    try {
      queryVector = deps.embedder ? await deps.embedder.embed(query, { reuse: true }) : undefined;
    } catch (error) {
      log.warn({ err: error }, 'could not embed for tool retrieval; using word overlap');
    }
    const before = Object.keys(cache.entries).length;
    const matches: ToolMatch[] = [];
    for (const tool of tools) {
      const texts = textsOf(tool);
      const id = `${tool.manifest.name}@${tool.manifest.version}`;
      let similarity = Math.max(
        lexicalSimilarity(query, texts.description),
        useSpec ? lexicalSimilarity(query, texts.spec) : 0,
      );
      if (queryVector) {
        try {
          const description = await vectorFor(`${id}:description`, texts.description);
          const spec = useSpec ? await vectorFor(`${id}:spec`, texts.spec) : undefined;
          similarity = Math.max(
            description ? cosine(queryVector, description) : similarity,
            spec ? cosine(queryVector, spec) : 0,
          );
        } catch (error) {
          log.warn({ err: error, tool: tool.manifest.name }, 'could not embed a tool description');
        }
      }
      matches.push({ tool, similarity });
    }
    if (Object.keys(cache.entries).length !== before) save();
    return matches.sort((a, b) => b.similarity - a.similarity);
  }

  function validatorFor(tool: StoredTool): ValidateFunction {
    // Keyed by content: a tool removed and forged again restarts at v1 with another schema.
    const key = sha256(JSON.stringify(tool.manifest.inputSchema));
    let validate = validators.get(key);
    if (!validate) {
      const regex = regexKeywordIn(tool.manifest.inputSchema);
      if (regex) throw new Error(`${regex}: regular expressions are not allowed in tool schemas`);
      validate = ajvNow().compile(tool.manifest.inputSchema);
      validators.set(key, validate);
    }
    return validate;
  }

  /** The newest version of every tool the scope may see. */
  const inScope = (scope: ToolScope = {}) =>
    registry.list().filter((t) => visibleIn(t.manifest, scope.guildId));
  /** A tool by name, if the scope may see it. */
  const find = (name: string, scope: ToolScope = {}) => {
    const tool = registry.get(name);
    return tool && visibleIn(tool.manifest, scope.guildId) ? tool : undefined;
  };

  return {
    registry,
    sandbox,
    shelf: inScope,
    find,
    list: (scope) => inScope(scope).map(toolInfo),
    info(name, scope) {
      const tool = find(name, scope);
      return tool ? toolInfo(tool) : undefined;
    },
    async relevant(query, options = {}) {
      const k = options.k ?? offered;
      if (k <= 0) return [];
      const tools = inScope(options);
      // A small shelf is offered whole: nothing to rank, no embedding call.
      if (tools.length <= k) return tools.map(toolInfo);
      return (await rank(query, false, options))
        .filter((match) => match.similarity >= floor)
        .slice(0, k)
        .map((match) => toolInfo(match.tool));
    },
    async closest(text, scope = {}) {
      return (await rank(text, true, scope))[0];
    },
    async index(tool) {
      // Only the new tool's own texts: the others are cached already.
      const texts = textsOf(tool);
      const id = `${tool.manifest.name}@${tool.manifest.version}`;
      try {
        await vectorFor(`${id}:description`, texts.description);
        await vectorFor(`${id}:spec`, texts.spec);
        save();
      } catch (error) {
        log.warn({ err: error, tool: tool.manifest.name }, 'could not index a tool');
      }
    },
    remove(name) {
      const archived = registry.remove(name);
      if (archived) {
        for (const key of Object.keys(cache.entries))
          if (key.startsWith(`${name}@`)) delete cache.entries[key];
        save();
      }
      return archived;
    },
    validate(tool, input) {
      let validate: ValidateFunction;
      try {
        validate = validatorFor(tool);
      } catch (error) {
        return `the tool's input schema is invalid: ${(error as Error).message}`;
      }
      if (validate(input)) return null;
      return (validate.errors ?? [])
        .slice(0, 5)
        .map((e) => `${e.instancePath || 'input'} ${e.message ?? 'is invalid'}`)
        .join('; ');
    },
    async call(name, input, options = {}): Promise<ToolCallOutcome> {
      const tool = find(name, options);
      if (!tool) {
        const known = inScope(options).map((t) => t.manifest.name);
        return {
          ok: false,
          error: `there is no tool named "${name}"${known.length ? ` (known: ${known.join(', ')})` : ''}`,
          ms: 0,
        };
      }
      const invalid = this.validate(tool, input);
      if (invalid) return { ok: false, error: `the input does not match the schema: ${invalid}`, ms: 0 };
      // Code edited by hand after forging must still pass the gate before it runs.
      const hash = sha256(tool.code);
      if (!gated.has(hash)) {
        const verdict = checkToolCode(tool.code);
        gated.set(hash, verdict.ok ? null : verdict.problems.join('; '));
      }
      const refused = gated.get(hash);
      if (refused) return { ok: false, error: `the tool's code fails the static gate: ${refused}`, ms: 0 };
      const result = await sandbox.run(tool.code, input, options.signal ? { signal: options.signal } : {});
      deps.onCall?.(result.ok ? 'ok' : result.kind);
      if (result.ok) return { ok: true, result: result.value, json: result.json, ms: result.ms };
      const what = describeFailureKind(result.kind, sandbox.limits);
      log.info({ tool: name, kind: result.kind, ms: Math.round(result.ms) }, 'tool call failed');
      return { ok: false, error: `${name} ${what}: ${result.message}`, ms: result.ms };
    },
  };
}
