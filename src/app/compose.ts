import { join, resolve } from 'node:path';
import { type Bot, type BotDeps, createBot } from '../bot/createBot.ts';
import type { CommandRegistry } from '../bot/interactions/commandRegistry.ts';
import { loadCommands } from '../bot/interactions/commandRegistry.ts';
import type { PostingLimits } from '../bot/posting/postingScheduler.ts';
import type { TurnStreamSettings } from '../bot/posting/turnStream.ts';
import type { Dialogue } from '../graph/dialogue.ts';
import { keepsFormat } from '../graph/formats.ts';
import { systemPromptFor } from '../graph/prompts.ts';
import { type AppStore, openAppStore } from '../services/appStore.ts';
import type { CheckpointStore } from '../services/checkpointStore.ts';
import { type Clock, systemClock } from '../services/clock.ts';
import { GRAPH_PERSONAS } from '../services/codex/codexSchema.ts';
import { watchCodex } from '../services/codex/codexWatcher.ts';
import { type Codex, loadCodex } from '../services/codex/loadCodex.ts';
import type { Config } from '../services/config.ts';
import { type Curation, createCuration } from '../services/curation/curation.ts';
import { createCurationJob } from '../services/curation/curationJob.ts';
import { CurationLedger } from '../services/curation/curationLedger.ts';
import { createGoldenStore } from '../services/curation/goldenStore.ts';
import { findAppError } from '../services/errors.ts';
import { createEventBus, type EventBus } from '../services/eventBus.ts';
import { createFineTuner, type FineTuner } from '../services/finetune/fineTuner.ts';
import { FinetuneStore } from '../services/finetune/finetuneStore.ts';
import { createOllamaModelHost } from '../services/finetune/ollamaAdapters.ts';
import { type Amendments, createAmendments } from '../services/governance/amendments.ts';
import { ProposalStore } from '../services/governance/proposalStore.ts';
import { createLimiter, type Limiter } from '../services/llm/limiter.ts';
import { createProviders, type Providers } from '../services/llm/providers.ts';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../services/llm/retry.ts';
import type { Logger } from '../services/logger.ts';
import type { Memory } from '../services/memory/memory.ts';
import { openMemory } from '../services/memory/openMemory.ts';
import { createNoMetrics, type Metrics } from '../services/metrics.ts';
import { createPersonaRegistry, type PersonaRegistry } from '../services/personas.ts';
import { createScheduler, type Scheduler } from '../services/scheduler.ts';
import { createSandbox } from '../services/tools/sandbox.ts';
import type { ToolForge } from '../services/tools/toolPorts.ts';
import { ToolRegistry } from '../services/tools/toolRegistry.ts';
import { createToolService, type ToolService } from '../services/tools/toolService.ts';
import { createLazy, type Lazy } from '../shared/lazy.ts';
import { serveMetrics } from './metricsServer.ts';
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
  /** The curation loop: judges finished dialogues into each persona's golden dataset. */
  readonly curation: Curation;
  /** Background jobs (the motivator, curation, fine-tuning). */
  readonly scheduler: Scheduler;
  /** The UnslothForge: fine-tunes, evaluates and swaps persona models. */
  readonly fineTuner: FineTuner;
  /** What is counted and timed; its registry exists only with `METRICS_PORT`. */
  readonly metrics: Omit<Metrics, 'registry'> & { registry?: Metrics['registry'] };
  /** Whether the stores answer (for `/healthz`). */
  storesOpen(): boolean;
  /** Re-reads the codex from disk and puts it in force. */
  reloadCodex(): Promise<Codex>;
  codex(): Codex;
  personas(): PersonaRegistry;
  /** Who serves the models and the embeddings. */
  readonly providers: Providers;
  /** Checks that every server in use answers and has the models the dialogue needs; throws what to fix. */
  checkModels(): Promise<void>;
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
  /** How streamed turns are paced (default: a round of edits a second per turn). */
  stream?: Partial<TurnStreamSettings>;
  /** How long a codex edit on the host must settle before it is read (default 500 ms). */
  codexDebounceMs?: number;
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
  let limiterRef: Limiter | undefined;
  let curationRef: Curation | undefined;
  const metrics =
    config.metricsPort !== undefined
      ? (await import('../services/prometheus.ts')).createMetrics({
          queue: () => ({ active: limiterRef?.active ?? 0, waiting: limiterRef?.waiting ?? 0 }),
          goldenSizes: () =>
            Object.fromEntries(curationRef?.sizes().map((s) => [s.persona, s.samples]) ?? []),
        })
      : createNoMetrics();
  const limiter = createLimiter(config.llmConcurrency, (ms) => metrics.queueWait(ms / 1000));
  limiterRef = limiter;
  const finetunes = new FinetuneStore(config.dataDir);
  // A fine-tuned version in force replaces the codex's model, from the next call on.
  const activeModel = (persona: string) => {
    const active = finetunes.active(persona);
    return active && active.version > 0 ? active.model : undefined;
  };
  const providers = createProviders(
    {
      llmProvider: config.llmProvider,
      embedProvider: config.embedProvider,
      ollamaHost: config.ollamaHost,
      openaiBaseUrl: config.openaiBaseUrl,
      openaiApiKey: config.openaiApiKey,
      embedModel: config.embedModel,
      timeoutMs: config.ollamaTimeoutMs,
    },
    {
      metrics,
      activeModel,
      personas: () => personas,
      logger,
      limiter,
      clock,
      retry: options.retry ?? { ...DEFAULT_RETRY_POLICY, retries: config.ollamaRetries },
    },
  );
  const { modelFor, embedder } = providers;
  const { memory } = await openMemory({
    dataDir: config.dataDir,
    embedder,
    logger,
    clock,
    recallK: config.memoryRecallK,
    recallFloor: config.memorySimilarityFloor,
  });
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
    onCall: (outcome) => metrics.sandboxCall(outcome),
  });
  // The forge loads with its first tool.
  const forge = createLazy(async () =>
    (await import('../services/tools/toolForge.ts')).createToolForge({
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
  const scheduler = createScheduler({
    logger,
    clock,
    autonomyPaused: () => amendments.pausedReason(),
    onRun: (job, outcome) => metrics.jobRun(job, outcome),
  });
  const curation: Curation = createCuration({
    records: memory,
    modelFor,
    personas: () => personas,
    judge: () => codex.data.curation,
    ledger: new CurationLedger(config.dataDir),
    formatOk: keepsFormat,
    golden: createGoldenStore({
      dir: join(config.dataDir, 'golden'),
      anchorSize: config.curationAnchorSize,
      clock,
      logger,
    }),
    clock,
    logger,
    options: { batch: config.curationBatch, threshold: config.curationThreshold },
  });
  curationRef = curation;
  const fineTuner = createFineTuner({
    store: finetunes,
    dataDir: config.dataDir,
    personas: () => personas,
    modelFor,
    providerOf: providers.of,
    goldenCount: (persona) => curation.sizes().find((s) => s.persona === persona)?.samples ?? 0,
    host: createOllamaModelHost({ host: config.ollamaHost, timeoutMs: config.ollamaTimeoutMs }),
    limiter,
    formatOk: keepsFormat,
    bus,
    clock,
    logger,
    settings: {
      command: config.finetuneCommand,
      ...(config.finetuneConfig
        ? { config: JSON.parse(config.finetuneConfig) as Record<string, unknown> }
        : {}),
      timeoutMs: config.finetuneTimeoutMs,
      holdout: config.finetuneHoldout,
      triggerSize: config.finetuneTriggerSize,
      rule: config.finetunePromoteRule,
      promotion: config.finetunePromotion,
      exclusive: config.finetuneExclusive,
      evalPrompts: config.finetuneEvalPrompts,
      judge: () => codex.data.curation,
    },
  });
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
    curation,
    scheduler,
    fineTuner,
    metrics,
    storesOpen() {
      if (closed) return false;
      try {
        memory.stats();
        amendments.active();
        finetunes.running();
        return true;
      } catch {
        return false;
      }
    },
    async reloadCodex() {
      const next = await loadCodex(config.codexPath);
      applyCodex(next);
      return next;
    },
    codex: () => codex,
    personas: () => personas,
    providers,
    checkModels: () =>
      providers.check(
        GRAPH_PERSONAS.map((id) => ({ persona: id, model: activeModel(id) ?? personas.get(id).model })),
      ),
    async close() {
      closed = true;
      stopRetrying();
      stopEvaluating();
      // A curation run stops between two model calls; the scheduler then has nothing to wait for.
      await curation.close();
      await scheduler.stop();
      await fineTuner.close();
      finetunes.close();
      await amendments.close();
      proposals.close();
      await sandbox.close();
      await memory.close();
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
  /** Where `/metrics` and `/healthz` are served (with `METRICS_PORT`; 0 picks a free port). */
  readonly metricsPort: number | undefined;
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
 * Builds everything `npm start` runs: checks the model servers in the background (a warning, not a stop: each dialogue says
 * the same in its thread until it is fixed), opens the state store with its error handler, and
 * creates the bot. Call `bot.start(token)` to connect.
 */
export async function composeApp(
  config: Config,
  logger: Logger,
  options: ComposeAppOptions = {},
): Promise<App> {
  const runtime = await composeRuntime(config, logger, options);
  // Beside the login, not before it: a slow or absent model server must not keep the bot off Discord.
  runtime.checkModels().catch((error: unknown) => logger.warn(findAppError(error)?.message ?? String(error)));
  // The nightly fine-tune, the curation job and the codex watcher belong to the bot, not to a
  // terminal chat beside it.
  runtime.scheduler.add(runtime.fineTuner.job(config.finetuneCron));
  // A kill may have torn a golden dataset's last line: cut now, before the job appends.
  const curated = runtime.curation.start();
  if ('busy' in curated) {
    logger.warn(
      { pid: curated.busy },
      'another process is curating: the golden sets are checked when it is done',
    );
  }
  runtime.scheduler.add(
    createCurationJob({ curation: runtime.curation, bus: runtime.bus, cron: config.curationCron }),
  );
  const codexWatcher = watchCodex({
    path: config.codexPath,
    clock: runtime.clock,
    logger,
    ...(options.codexDebounceMs !== undefined ? { debounceMs: options.codexDebounceMs } : {}),
    onEdit: (text) => {
      try {
        runtime.amendments.adoptHostEdit(text);
      } catch (error) {
        logger.error({ err: error }, 'could not adopt an edit of the codex');
      }
    },
  });
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
      ...(options.stream ? { stream: options.stream } : {}),
      ...(options.sweepers ? { sweepers: options.sweepers } : {}),
    });
  let bot = build();
  let closed = false;
  const metricsServer =
    config.metricsPort !== undefined && runtime.metrics.registry
      ? await serveMetrics({
          port: config.metricsPort,
          host: config.metricsHost,
          registry: runtime.metrics.registry,
          health: () => ({ discord: bot.client.isReady(), stores: runtime.storesOpen() }),
        })
      : undefined;
  if (metricsServer) logger.info({ port: metricsServer.port }, 'metrics and /healthz served');
  return {
    runtime,
    store,
    metricsPort: metricsServer?.port,
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
      codexWatcher.close();
      await metricsServer?.close();
      await bot.stop();
      await store.close();
      await runtime.close();
    },
  };
}
