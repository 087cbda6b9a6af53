import type { Embedder } from '../llm/embedder.ts';
import type { Logger } from '../logger.ts';
import { callTool } from './callTool.ts';
import type { Sandbox } from './sandbox.ts';
import { ToolEmbeddings } from './toolEmbeddings.ts';
import type { ToolBox, ToolInfo, ToolScope } from './toolPorts.ts';
import { forgedIn, type StoredTool, type ToolRegistry, visibleIn } from './toolRegistry.ts';
import { rankTools, type ToolMatch } from './toolRelevance.ts';
import { ToolInputValidator } from './toolSchema.ts';

/**
 * The registered tools as the dialogue sees them: which are relevant to a task (by embedding
 * their descriptions, `toolRelevance.ts`), and calling one — input checked against its JSON
 * Schema, code checked by the static gate, run in the sandbox (`callTool.ts`).
 */

export type { ToolMatch } from './toolRelevance.ts';

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
  remove(name: string): Promise<string | undefined>;
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

export const toolInfo = (tool: StoredTool): ToolInfo => ({
  name: tool.manifest.name,
  version: tool.manifest.version,
  description: tool.manifest.description,
  inputSchema: tool.manifest.inputSchema,
});

/** Whether the scope may see a tool: of its server, forged where the scope's readers may read. */
function inScope(tool: StoredTool, scope: ToolScope): boolean {
  return visibleIn(tool.manifest, scope.guildId) && forgedIn(tool.manifest, scope.channelIds);
}

/** The newest version of every tool the scope may see. */
function toolsInScope(registry: ToolRegistry, scope: ToolScope = {}): StoredTool[] {
  return registry.list().filter((t) => inScope(t, scope));
}

/** A tool by name, if the scope may see it. */
function findInScope(registry: ToolRegistry, name: string, scope: ToolScope = {}): StoredTool | undefined {
  const tool = registry.get(name);
  return tool && inScope(tool, scope) ? tool : undefined;
}

/** The tools in scope most relevant to a task: at most `k`, none below `floor`; a small shelf whole. */
async function relevantTools(
  deps: { registry: ToolRegistry; embeddings: ToolEmbeddings; logger: Logger },
  query: string,
  options: ToolScope & { k: number; floor: number },
): Promise<ToolInfo[]> {
  if (options.k <= 0) return [];
  await deps.registry.refresh();
  const tools = toolsInScope(deps.registry, options);
  // A small shelf is offered whole: nothing to rank, no embedding call.
  if (tools.length <= options.k) return tools.map(toolInfo);
  return (await rankTools(deps, tools, query, false))
    .filter((match) => match.similarity >= options.floor)
    .slice(0, options.k)
    .map((match) => toolInfo(match.tool));
}

export function createToolService(deps: ToolServiceDeps): ToolService {
  const { registry, sandbox } = deps;
  const logger = deps.logger.child({ module: 'tools' });
  const embeddings = new ToolEmbeddings(deps.embedder, deps.embeddingsPath, logger);
  const validator = new ToolInputValidator();
  const ranking = { registry, embeddings, logger };
  const calls = {
    sandbox,
    validate: (tool: StoredTool, input: unknown) => validator.validate(tool, input),
    gated: new Map<string, string | null>(),
    logger,
    onCall: deps.onCall,
  };
  const find = (name: string, scope?: ToolScope) => findInScope(registry, name, scope);
  const shelf = (scope?: ToolScope) => toolsInScope(registry, scope);
  return {
    registry,
    sandbox,
    shelf,
    find,
    list: (scope) => shelf(scope).map(toolInfo),
    info(name, scope) {
      const tool = find(name, scope);
      return tool ? toolInfo(tool) : undefined;
    },
    relevant: (query, options = {}) =>
      relevantTools(ranking, query, {
        ...options,
        k: options.k ?? deps.offered ?? 3,
        floor: deps.relevanceFloor ?? 0.3,
      }),
    async closest(text, scope = {}) {
      await registry.refresh();
      return (await rankTools(ranking, shelf(scope), text, true))[0];
    },
    index: (tool) => embeddings.index(tool),
    async remove(name) {
      const archived = await registry.remove(name);
      if (archived) embeddings.forget(name);
      return archived;
    },
    validate: calls.validate,
    // Each look at the shelf that may await first takes in what other processes forged (`refresh`).
    async call(name, input, options = {}) {
      await registry.refresh();
      return callTool(
        calls,
        { name, tool: find(name, options), known: () => shelf(options).map((t) => t.manifest.name), input },
        options.signal,
      );
    },
  };
}
