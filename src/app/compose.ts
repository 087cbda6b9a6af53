import { join, resolve } from 'node:path';
import type { CommandRegistry } from '../bot/commandRegistry.ts';
import { loadCommands } from '../bot/commandRegistry.ts';
import { type Bot, type BotDeps, createBot } from '../bot/createBot.ts';
import type { PostingLimits } from '../bot/posting/postingScheduler.ts';
import type { Dialogue } from '../graph/dialogue.ts';
import { systemPromptFor } from '../graph/prompts.ts';
import { type AppStore, openAppStore } from '../services/appStore.ts';
import type { CheckpointStore } from '../services/checkpointStore.ts';
import { type Clock, systemClock } from '../services/clock.ts';
import { GRAPH_PERSONAS } from '../services/codex/codexSchema.ts';
import { type Codex, loadCodex } from '../services/codex/loadCodex.ts';
import type { Config } from '../services/config.ts';
import { findAppError } from '../services/errors.ts';
import { createEventBus, type EventBus } from '../services/eventBus.ts';
import { type Amendments, createAmendments } from '../services/governance/amendments.ts';
import { ProposalStore } from '../services/governance/proposalStore.ts';
import { createLimiter, type Limiter } from '../services/llm/limiter.ts';
import { checkOllama, createOllamaModelFor } from '../services/llm/ollamaModels.ts';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../services/llm/retry.ts';
import type { Logger } from '../services/logger.ts';
import type { Embedder } from '../services/memory/embedder.ts';
import { InteractionLog } from '../services/memory/interactionLog.ts';
import { createMemory, type Memory } from '../services/memory/memory.ts';
import { VectorIndex } from '../services/memory/vectorIndex.ts';
import { createPersonaRegistry, type PersonaRegistry } from '../services/personas.ts';
import { createScheduler, type Scheduler } from '../services/scheduler.ts';
import type { ToolForge } from '../services/toolForge.ts';
import { createSandbox } from '../services/tools/sandbox.ts';
import { createToolService, type ToolService } from '../services/tools/toolBox.ts';
import { ToolRegistry } from '../services/tools/toolRegistry.ts';
import { createLazy, type Lazy } from '../shared/lazy.ts';
import { COMMANDS_DIR } from './paths.ts';

/**
 * The composition root: the one place that builds the concrete adapters from the config and
 * wires them. The bot (`main.ts`), the terminal programs (`cli/`) and the tests compose here;
 * everything else receives its dependencies.
 */

const EMBED_RETRY_MS = 60_000;

/** The wired core that both the terminal chat and the Discord bot run on. */
export interface Runtime {
  readonly config: Config;
  readonly logger: Logger;
  readonly clock: Clock;
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
  /** Re-reads the codex from disk and puts it in force. */
  reloadCodex(): Promise<Codex>;
  codex(): Codex;
  personas(): PersonaRegistry;
  /** The Ollama models the dialogue needs, one per graph persona, without repeats. */
  requiredModels(): string[];
  close(): Promise<void>;
}

export interface ComposeOptions {
  /** The clock everything reads and waits on (default: the system's). */
  clock?: Clock;
  /** A tool forge in place of the real one (tests). */
  toolForge?: ToolForge;
  /** How a busy or restarting Ollama is tried again. */
  retry?: RetryPolicy;
  /** Discord's limits as persona posts are paced for them (default: Discord's; tests scale them down). */
  posting?: Partial<PostingLimits>;
}

/**
 * The Ollama embedder, whose LangChain client loads with the first embedding (an idle bot embeds
 * nothing).
 */
function lazyEmbedder(options: { host: string; model: string; timeoutMs: number }): Embedder {
  const embedder = createLazy(async () =>
    (await import('../services/memory/embedder.ts')).createOllamaEmbedder(options),
  );
  return {
    model: options.model,
    embed: async (text, embedOptions) => (await embedder.get()).embed(text, embedOptions),
  };
}

/** The dialogue, built on its first use (see `composeRuntime`). */
function lazyDialogue(dialogue: Lazy<Dialogue>): Dialogue {
  return {
    async *run(request, options) {
      yield* (await dialogue.get()).run(request, options);
    },
    exists: async (conversationId) => (await dialogue.get()).exists(conversationId),
    turns: async (conversationId) => (await dialogue.get()).turns(conversationId),
    forget: async (conversationId) => (await dialogue.get()).forget(conversationId),
  };
}

/** Opens the interaction log and vector index; a damaged index is rebuilt from the log. */
function openMemory(config: Config, logger: Logger, embedder: Embedder, clock: Clock): Memory {
  const dir = join(config.dataDir, 'memory');
  const log = new InteractionLog(config.dataDir);
  const index = new VectorIndex({ dir });
  const memory = createMemory({
    log,
    index,
    embedder,
    logger,
    clock,
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

/** Builds the runtime: codex, personas, models, memory, tools, governance, scheduler. */
export async function composeRuntime(
  config: Config,
  logger: Logger,
  options: ComposeOptions = {},
): Promise<Runtime> {
  const clock = options.clock ?? systemClock;
  let codex = await loadCodex(config.codexPath);
  let personas = createPersonaRegistry(codex);
  const applyCodex = (next: Codex) => {
    codex = next;
    personas = createPersonaRegistry(next);
    logger.info({ codexVersion: next.data.version }, 'codex in force');
  };
  const bus = createEventBus({
    onListenerError: (type, error) => logger.error({ err: error, event: type }, 'event listener failed'),
  });
  let store: CheckpointStore | undefined;
  let closed = false;
  const limiter = createLimiter(config.llmConcurrency);
  const modelFor = createOllamaModelFor({
    host: config.ollamaHost,
    timeoutMs: config.ollamaTimeoutMs,
    personas: () => personas,
    logger,
    limiter,
    clock,
    retry: options.retry ?? { ...DEFAULT_RETRY_POLICY, retries: config.ollamaRetries },
  });
  const embedder = lazyEmbedder({
    host: config.ollamaHost,
    model: config.ollamaEmbedModel,
    timeoutMs: config.ollamaTimeoutMs,
  });
  const memory = openMemory(config, logger, embedder, clock);
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
  // The forge loads with its first tool.
  const forge = createLazy(async () =>
    (await import('../services/tools/forge.ts')).createToolForge({
      modelFor,
      tools,
      bus,
      clock,
      logger,
      codexVersion: () => personas.codexVersion,
      settings: { reuseSimilarity: config.toolReuseSimilarity },
    }),
  );
  const toolForge: ToolForge = options.toolForge ?? {
    forge: async (request, forgeOptions) => (await forge.get()).forge(request, forgeOptions),
  };
  // The dialogue is built on its first use: LangGraph, LangChain and the checkpoint database
  // load then, so that the bot reaches Discord sooner and idles lighter.
  const built = createLazy(async () => {
    const [{ openCheckpointStore }, { createDialogue }] = await Promise.all([
      import('../services/checkpointStore.ts'),
      import('../graph/dialogue.ts'),
    ]);
    if (closed) throw new Error('the runtime is closed');
    const opened = openCheckpointStore(config.dataDir);
    store = opened;
    return createDialogue({
      modelFor,
      personas: () => personas,
      bus,
      clock,
      checkpointer: opened.saver,
      toolForge,
      tools,
      logger,
      memory: {
        recall: (query, recallOptions) =>
          config.memoryRecallK > 0 ? memory.recall(query, recallOptions) : Promise.resolve([]),
        record: (record) => memory.record(record),
      },
      settings: {
        convergenceThreshold: config.convergenceThreshold,
        maxTurns: config.maxTurns,
        highDissonance: config.highDissonance,
      },
    });
  });
  const dialogue = lazyDialogue(built);
  const proposals = new ProposalStore(config.dataDir);
  const amendments = createAmendments({
    store: proposals,
    records: memory,
    modelFor,
    systemPrompt: (id) => systemPromptFor(personas.get(id), personas.corePrinciples),
    codex: () => codex,
    codexPath: config.codexPath,
    dataDir: config.dataDir,
    applyCodex,
    bus,
    clock,
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
  const scheduler = createScheduler({ logger, clock, autonomyPaused: () => amendments.pausedReason() });
  // Dialogues recorded while the embedding model was unavailable are embedded later.
  const stopRetrying = clock.every(EMBED_RETRY_MS, () => void memory.embedPending().catch(() => undefined));
  logger.info({ codexVersion: codex.data.version, dataDir: config.dataDir }, 'runtime ready');
  return {
    config,
    logger,
    clock,
    bus,
    dialogue,
    memory,
    limiter,
    tools,
    toolForge,
    amendments,
    scheduler,
    async reloadCodex() {
      const next = await loadCodex(config.codexPath);
      applyCodex(next);
      return next;
    },
    codex: () => codex,
    personas: () => personas,
    requiredModels: () => [...new Set(GRAPH_PERSONAS.map((id) => personas.get(id).model))],
    async close() {
      closed = true;
      stopRetrying();
      stopEvaluating();
      await scheduler.stop();
      await amendments.close();
      proposals.close();
      await sandbox.close();
      memory.close();
      await built.started()?.catch(() => undefined);
      store?.close();
      store = undefined;
    },
  };
}

/** The whole Discord bot: the runtime, the bot's state store, the client and its commands. */
export interface App {
  readonly runtime: Runtime;
  readonly store: AppStore;
  readonly bot: Bot;
  /** Builds a fresh bot over the same runtime and store (after `bot.stop()`: a reconnect). */
  rebuildBot(): Bot;
  /** Stops the bot, then closes the store and the runtime. */
  close(): Promise<void>;
}

export interface ComposeAppOptions extends ComposeOptions {
  /** The slash commands (default: every module in `commands/`). */
  commands?: CommandRegistry;
  /** discord.js's cache sweepers, over the bot's own (benchmarks run them more often). */
  sweepers?: BotDeps['sweepers'];
}

/**
 * Builds everything `npm start` runs: checks Ollama in the background (a warning, not a stop:
 * each dialogue says the same in its thread until it is fixed), opens the state store with its
 * error handler, and creates the bot. Call `bot.start(token)` to connect.
 */
export async function composeApp(
  config: Config,
  logger: Logger,
  options: ComposeAppOptions = {},
): Promise<App> {
  const runtime = await composeRuntime(config, logger, options);
  // Beside the login, not before it: a slow or absent Ollama must not keep the bot off Discord.
  checkOllama(config.ollamaHost, runtime.requiredModels()).catch((error: unknown) =>
    logger.warn(findAppError(error)?.message ?? String(error)),
  );
  const store = openAppStore(config.dataDir, (error) => logger.error({ err: error }, 'state store error'));
  const commands = options.commands ?? (await loadCommands(COMMANDS_DIR));
  const build = () =>
    createBot({
      config,
      logger,
      clock: runtime.clock,
      services: runtime,
      store,
      commands,
      ...(options.posting ? { posting: options.posting } : {}),
      ...(options.sweepers ? { sweepers: options.sweepers } : {}),
    });
  let bot = build();
  let closed = false;
  return {
    runtime,
    store,
    get bot() {
      return bot;
    },
    rebuildBot() {
      bot = build();
      return bot;
    },
    async close() {
      if (closed) return;
      closed = true;
      await bot.stop();
      await store.close();
      await runtime.close();
    },
  };
}
