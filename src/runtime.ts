import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createDialogue, type Dialogue } from './graph/dialogue.ts';
import { systemPromptFor } from './graph/prompts.ts';
import { type CheckpointStore, openCheckpointStore } from './services/checkpointStore.ts';
import { systemClock } from './services/clock.ts';
import { GRAPH_PERSONAS } from './services/codex/codexSchema.ts';
import { type Codex, loadCodex } from './services/codex/loadCodex.ts';
import type { Config } from './services/config.ts';
import { createEventBus, type EventBus } from './services/eventBus.ts';
import { type Amendments, createAmendments } from './services/governance/amendments.ts';
import { ProposalStore } from './services/governance/proposalStore.ts';
import { createLimiter, type Limiter } from './services/llm/limiter.ts';
import { createOllamaModelFor } from './services/llm/ollamaModels.ts';
import type { Logger } from './services/logger.ts';
import { createOllamaEmbedder, type Embedder } from './services/memory/embedder.ts';
import { InteractionLog } from './services/memory/interactionLog.ts';
import { createMemory, type Memory } from './services/memory/memory.ts';
import { VectorIndex } from './services/memory/vectorIndex.ts';
import { createPersonaRegistry, type PersonaRegistry } from './services/personas.ts';
import { createScheduler, type Scheduler } from './services/scheduler.ts';
import type { ToolForge } from './services/toolForge.ts';
import { createToolForge } from './services/tools/forge.ts';
import { createSandbox } from './services/tools/sandbox.ts';
import { createToolService, type ToolService } from './services/tools/toolBox.ts';
import { ToolRegistry } from './services/tools/toolRegistry.ts';

const EMBED_RETRY_MS = 60_000;

/** Opens the interaction log and vector index; a damaged index is rebuilt from the log. */
function openMemory(config: Config, logger: Logger, embedder: Embedder): Memory {
  const dir = join(config.dataDir, 'memory');
  const log = new InteractionLog(config.dataDir);
  const index = new VectorIndex({ dir });
  mkdirSync(dir, { recursive: true });
  const memory = createMemory({
    log,
    index,
    embedder,
    logger,
    clock: systemClock,
    recallK: config.memoryRecallK,
    recallFloor: config.memorySimilarityFloor,
  });
  if (index.load() === 'corrupt') {
    logger.warn('the memory index could not be read back; rebuilding it from the interaction log');
    index.reset();
    log.resetEmbedded();
    void memory.embedPending().catch(() => undefined);
  }
  return memory;
}

/** The wired core that both the terminal chat and the Discord bot run on. */
export interface Runtime {
  readonly config: Config;
  readonly logger: Logger;
  readonly bus: EventBus;
  readonly dialogue: Dialogue;
  /** Every finished dialogue, recorded and embedded for recall. */
  readonly memory: Memory;
  /** The shared cap on model calls (`LLM_CONCURRENCY`). */
  readonly limiter: Limiter;
  /** The forged tools: registry, retrieval, sandboxed calls. */
  readonly tools: ToolService;
  /** The tactical loop: makes new tools (also behind `/forge tool`). */
  readonly toolForge: ToolForge;
  /** The philosophical loop: codex amendments, ratified only by the architect. */
  readonly amendments: Amendments;
  /** Background jobs (the motivator; later curation and fine-tuning). */
  readonly scheduler: Scheduler;
  /** Re-reads the codex and reloads the personas at once (after a ratified amendment). */
  reloadCodex(): Promise<Codex>;
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
  let codex = await loadCodex(config.codexPath);
  let personas = createPersonaRegistry(codex);
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
  const embedder = createOllamaEmbedder({
    host: config.ollamaHost,
    model: config.ollamaEmbedModel,
    timeoutMs: config.ollamaTimeoutMs,
  });
  const memory = openMemory(config, logger, embedder);
  const sandbox = createSandbox({
    limits: { timeoutMs: config.sandboxTimeoutMs, memoryBytes: config.sandboxMemoryMb * 1024 * 1024 },
  });
  const tools = createToolService({
    registry: new ToolRegistry(resolve(config.forgeDir), logger),
    sandbox,
    embedder,
    embeddingsPath: join(config.dataDir, 'tools', 'embeddings.json'),
    logger,
    offered: config.toolsOffered,
  });
  const toolForge =
    overrides.toolForge ??
    createToolForge({
      modelFor,
      tools,
      bus,
      clock: systemClock,
      logger,
      codexVersion: () => personas.codexVersion,
      settings: { reuseSimilarity: config.toolReuseSimilarity },
    });
  const dialogue = createDialogue({
    modelFor,
    personas: () => personas,
    bus,
    clock: systemClock,
    checkpointer: store.saver,
    toolForge,
    tools,
    logger,
    memory: {
      recall: (query, options) =>
        config.memoryRecallK > 0 ? memory.recall(query, options) : Promise.resolve([]),
      record: (record) => memory.record(record),
    },
    settings: {
      convergenceThreshold: config.convergenceThreshold,
      maxTurns: config.maxTurns,
      highDissonance: config.highDissonance,
    },
  });
  const proposals = new ProposalStore(config.dataDir);
  const reloadCodex = async () => {
    const next = await loadCodex(config.codexPath);
    codex = next;
    personas = createPersonaRegistry(next);
    logger.info({ codexVersion: next.data.version }, 'codex reloaded');
    return next;
  };
  const amendments = createAmendments({
    store: proposals,
    records: memory,
    modelFor,
    systemPrompt: (id) => systemPromptFor(personas.get(id), personas.corePrinciples),
    codex: () => codex,
    codexPath: config.codexPath,
    dataDir: config.dataDir,
    reloadCodex,
    bus,
    clock: systemClock,
    logger,
    settings: {
      minEvents: config.amendmentMinEvents,
      windowMs: config.amendmentWindowMs,
      highDissonance: config.highDissonance,
    },
  });
  const stopEvaluating = bus.subscribe('high_cognitive_dissonance', async () => {
    await amendments.evaluate();
  });
  const scheduler = createScheduler({ logger, autonomyPaused: () => amendments.pausedReason() });
  // Dialogues recorded while the embedding model was unavailable are embedded later.
  const retry = setInterval(() => void memory.embedPending().catch(() => undefined), EMBED_RETRY_MS);
  retry.unref();
  logger.info(
    { codexVersion: codex.data.version, dataDir: config.dataDir, ollama: config.ollamaHost },
    'runtime ready',
  );
  return {
    config,
    logger,
    bus,
    dialogue,
    memory,
    limiter,
    tools,
    toolForge,
    amendments,
    scheduler,
    reloadCodex,
    codex: () => codex,
    personas: () => personas,
    requiredModels: () => [...new Set(GRAPH_PERSONAS.map((id) => personas.get(id).model))],
    async close() {
      clearInterval(retry);
      stopEvaluating();
      await scheduler.stop();
      await amendments.close();
      proposals.close();
      await sandbox.close();
      memory.close();
      store?.close();
      store = undefined;
    },
  };
}
