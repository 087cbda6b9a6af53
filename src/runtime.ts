import { createDialogue, type Dialogue } from './graph/dialogue.ts';
import { type CheckpointStore, openCheckpointStore } from './services/checkpointStore.ts';
import { systemClock } from './services/clock.ts';
import { GRAPH_PERSONAS } from './services/codex/codexSchema.ts';
import { type Codex, loadCodex } from './services/codex/loadCodex.ts';
import type { Config } from './services/config.ts';
import { createEventBus, type EventBus } from './services/eventBus.ts';
import { createLimiter, type Limiter } from './services/llm/limiter.ts';
import { createOllamaModelFor } from './services/llm/ollamaModels.ts';
import type { Logger } from './services/logger.ts';
import { createPersonaRegistry, type PersonaRegistry } from './services/personas.ts';
import { createUnavailableToolForge, type ToolForge } from './services/toolForge.ts';

/** The wired core that both the terminal chat and the Discord bot run on. */
export interface Runtime {
  readonly config: Config;
  readonly logger: Logger;
  readonly bus: EventBus;
  readonly dialogue: Dialogue;
  /** The shared cap on model calls (`LLM_CONCURRENCY`). */
  readonly limiter: Limiter;
  codex(): Codex;
  personas(): PersonaRegistry;
  /** The Ollama models the dialogue needs, one per graph persona, without repeats. */
  requiredModels(): string[];
  close(): Promise<void>;
}

export interface RuntimeOverrides {
  toolForge?: ToolForge;
}

/** The composition root: builds the concrete adapters from the config and wires them. */
export async function createRuntime(
  config: Config,
  logger: Logger,
  overrides: RuntimeOverrides = {},
): Promise<Runtime> {
  const codex = await loadCodex(config.codexPath);
  const personas = createPersonaRegistry(codex);
  const bus = createEventBus({
    onListenerError: (type, error) => logger.error({ err: error, event: type }, 'event listener failed'),
  });
  let store: CheckpointStore | undefined = openCheckpointStore(config.dataDir);
  const limiter = createLimiter(config.llmConcurrency);
  const modelFor = createOllamaModelFor({
    host: config.ollamaHost,
    timeoutMs: config.ollamaTimeoutMs,
    personas: () => personas,
    logger,
    limiter,
  });
  const dialogue = createDialogue({
    modelFor,
    personas: () => personas,
    bus,
    clock: systemClock,
    checkpointer: store.saver,
    toolForge: overrides.toolForge ?? createUnavailableToolForge(),
    logger,
    settings: {
      convergenceThreshold: config.convergenceThreshold,
      maxTurns: config.maxTurns,
      highDissonance: config.highDissonance,
    },
  });
  logger.info(
    { codexVersion: codex.data.version, dataDir: config.dataDir, ollama: config.ollamaHost },
    'runtime ready',
  );
  return {
    config,
    logger,
    bus,
    dialogue,
    limiter,
    codex: () => codex,
    personas: () => personas,
    requiredModels: () => [...new Set(GRAPH_PERSONAS.map((id) => personas.get(id).model))],
    async close() {
      store?.close();
      store = undefined;
    },
  };
}
