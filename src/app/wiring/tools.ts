import { join, resolve } from 'node:path';
import type { Clock } from '../../services/clock.ts';
import type { Config } from '../../services/config.ts';
import { dropped, storeLocation } from '../../services/db/openStoreDatabase.ts';
import type { EventBus } from '../../services/eventBus.ts';
import type { ModelFor } from '../../services/llm/chatModel.ts';
import type { Embedder } from '../../services/llm/embedder.ts';
import type { Logger } from '../../services/logger.ts';
import type { Metrics } from '../../services/metrics.ts';
import { createSandbox, type Sandbox } from '../../services/tools/sandbox.ts';
import type { ToolForge } from '../../services/tools/toolPorts.ts';
import { ToolRegistry } from '../../services/tools/toolRegistry.ts';
import { createToolService, type ToolService } from '../../services/tools/toolService.ts';
import { createLazy } from '../../shared/lazy.ts';

/** The forged tools (registry, retrieval, sandboxed calls) and the forge that makes them, loaded with its first tool. */
export async function composeTools(deps: {
  config: Config;
  logger: Logger;
  clock: Clock;
  bus: EventBus;
  modelFor: ModelFor;
  embedder: Embedder;
  metrics: Pick<Metrics, 'sandboxCall'>;
  codexVersion: () => number;
  /** A tool forge in place of the real one (tests). */
  toolForge?: ToolForge;
}): Promise<{ sandbox: Sandbox; tools: ToolService; toolForge: ToolForge }> {
  const { config, logger } = deps;
  // FORGE_DIR, or with DATABASE_URL the database every process shares (`toolRegistry.ts` says why).
  const registry = await ToolRegistry.open({
    forgeDir: resolve(config.forgeDir),
    location: storeLocation(config, dropped(logger)),
    logger,
  });
  const sandbox = createSandbox({
    limits: { timeoutMs: config.sandboxTimeoutMs, memoryBytes: config.sandboxMemoryMb * 1024 * 1024 },
  });
  const tools = createToolService({
    registry,
    sandbox,
    embedder: deps.embedder,
    embeddingsPath: join(config.dataDir, 'tools', 'embeddings.json'),
    logger,
    offered: config.toolsOffered,
    onCall: (outcome) => deps.metrics.sandboxCall(outcome),
  });
  const forge = createLazy(async () =>
    (await import('../../services/tools/toolForge.ts')).createToolForge({
      modelFor: deps.modelFor,
      tools,
      bus: deps.bus,
      clock: deps.clock,
      logger,
      codexVersion: deps.codexVersion,
      settings: { reuseSimilarity: config.toolReuseSimilarity },
    }),
  );
  const toolForge: ToolForge = deps.toolForge ?? {
    forge: async (request, forgeOptions) => (await forge.get()).forge(request, forgeOptions),
  };
  return { sandbox, tools, toolForge };
}
