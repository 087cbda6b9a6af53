import { type Bot, type BotDeps, createBot } from '../bot/createBot.ts';
import type { CommandRegistry } from '../bot/interactions/commandRegistry.ts';
import { loadCommands } from '../bot/interactions/commandRegistry.ts';
import type { PostingLimits } from '../bot/posting/postingScheduler.ts';
import type { TurnStreamSettings } from '../bot/posting/turnStream.ts';
import type { Dialogue } from '../graph/dialogue.ts';
import { type AppStore, openAppStore } from '../services/appStore.ts';
import { type Clock, systemClock } from '../services/clock.ts';
import { GRAPH_PERSONAS } from '../services/codex/codexSchema.ts';
import { watchCodex } from '../services/codex/codexWatcher.ts';
import type { Codex } from '../services/codex/loadCodex.ts';
import type { Config } from '../services/config.ts';
import type { Curation } from '../services/curation/curation.ts';
import { createCurationJob } from '../services/curation/curationJob.ts';
import { ReactionStore } from '../services/curation/reactions.ts';
import { dropped, storeLocation } from '../services/db/openStoreDatabase.ts';
import { processOwner } from '../services/db/processOwner.ts';
import { findAppError } from '../services/errors.ts';
import { createEventBus, type EventBus } from '../services/eventBus.ts';
import type { FineTuner } from '../services/finetune/fineTuner.ts';
import type { FinetuneStore } from '../services/finetune/finetuneStore.ts';
import type { Forgetting } from '../services/forgetting/forgetting.ts';
import type { Amendments } from '../services/governance/amendments.ts';
import { ProposalStore } from '../services/governance/proposalStore.ts';
import type { Limiter } from '../services/llm/limiter.ts';
import type { Providers } from '../services/llm/providers.ts';
import type { RetryPolicy } from '../services/llm/retry.ts';
import type { Logger } from '../services/logger.ts';
import type { Memory } from '../services/memory/memory.ts';
import { memoryScope, openMemory } from '../services/memory/openMemory.ts';
import type { PersonaRegistry } from '../services/personas.ts';
import type { Scheduler } from '../services/scheduler.ts';
import type { ToolForge } from '../services/tools/toolPorts.ts';
import type { ToolService } from '../services/tools/toolService.ts';
import { serveMetrics } from './metricsServer.ts';
import { COMMANDS_DIR } from './paths.ts';
import { CodexState } from './wiring/codexState.ts';
import { lazyDialogue } from './wiring/dialogue.ts';
import { composeForgetting } from './wiring/forgetting.ts';
import { composeScheduler, processLeadership, retryEmbeddings } from './wiring/jobs.ts';
import {
  composeAmendments,
  composeCuration,
  composeFineTuner,
  type LoopParts,
  openFinetuneStore,
} from './wiring/loops.ts';
import { composeMetrics, composeModels, type RuntimeMetrics } from './wiring/models.ts';
import { composeTools } from './wiring/tools.ts';

/**
 * The composition root: the one place that builds the concrete adapters from the config and
 * wires them. The bot (`main.ts`), the terminal programs (`cli/`) and the tests compose here;
 * everything else receives its dependencies.
 */

/** The wired core that both the terminal chat and the Discord bot run on. */
export interface Runtime {
  readonly config: Config;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly bus: EventBus;
  readonly dialogue: Dialogue;
  /** Every finished dialogue, recorded and embedded for recall. */
  readonly memory: Memory;
  /** The cap on model calls: a queue per model server, `LLM_CONCURRENCY` slots each. */
  readonly limiter: Limiter;
  /** The forged tools: registry, retrieval, sandboxed calls. */
  readonly tools: ToolService;
  /** The tactical loop: makes new tools (also behind `/tools forge`). */
  readonly toolForge: ToolForge;
  /** The philosophical loop: codex amendments, ratified only by the architect. */
  readonly amendments: Amendments;
  /** The curation loop: judges finished dialogues into each persona's golden dataset. */
  readonly curation: Curation;
  /** Which posts are which persona turns, and people's 👍 and 👎 on them (curation reads them). */
  readonly reactions: ReactionStore;
  /** Background jobs (the motivator, curation, fine-tuning). */
  readonly scheduler: Scheduler;
  /** The UnslothForge: fine-tunes, evaluates and swaps persona models. */
  readonly fineTuner: FineTuner;
  /** `/memory forget` everywhere else a dialogue's words are kept (recalls, datasets, evidence, logs). */
  readonly forgetting: Forgetting;
  /** What is counted and timed; its registry exists only with `METRICS_PORT`. */
  readonly metrics: RuntimeMetrics;
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
  /**
   * Whose memory index snapshots these are, of several processes on one `DATA_DIR`: a terminal
   * program beside the bot keeps its own (default: the shards this process runs, or none).
   */
  memoryScope?: string;
}

/** Builds the runtime: codex, personas, models, memory, tools, governance, scheduler. */
export async function composeRuntime(
  config: Config,
  logger: Logger,
  options: ComposeOptions = {},
): Promise<Runtime> {
  const clock = options.clock ?? systemClock;
  const codex = await CodexState.load(config.codexPath, logger);
  const bus = createEventBus({
    onListenerError: (type, error) => logger.error({ err: error, event: type }, 'event listener failed'),
  });
  // The metrics read numbers from parts built after them.
  let limiterRef: Limiter | undefined;
  let curationRef: Curation | undefined;
  const metrics = await composeMetrics(config, {
    queue: () => ({ active: limiterRef?.active ?? 0, waiting: limiterRef?.waiting ?? 0 }),
    goldenSizes: async () =>
      Object.fromEntries(((await curationRef?.sizes()) ?? []).map((s) => [s.persona, s.samples])),
  });
  const finetunes = await openFinetuneStore(config, logger, clock);
  const { limiter, providers, activeModel } = composeModels({
    config,
    logger,
    clock,
    metrics,
    finetunes,
    personas: codex.personas,
    ...(options.retry ? { retry: options.retry } : {}),
  });
  limiterRef = limiter;
  const location = storeLocation(config, dropped(logger));
  const { memory } = await openMemory({
    ...location,
    scope: options.memoryScope ?? memoryScope(config),
    embedder: providers.embedder,
    logger,
    clock,
    recallK: config.memoryRecallK,
    recallFloor: config.memorySimilarityFloor,
  });
  const base = { config, logger, clock, bus };
  const { sandbox, tools, toolForge } = await composeTools({
    ...base,
    modelFor: providers.modelFor,
    embedder: providers.embedder,
    metrics,
    codexVersion: () => codex.personas().codexVersion,
    ...(options.toolForge ? { toolForge: options.toolForge } : {}),
  });
  const dialogue = lazyDialogue({
    ...base,
    modelFor: providers.modelFor,
    personas: codex.personas,
    memory,
    tools,
    toolForge,
  });
  const loops: LoopParts = { ...base, codex, memory, providers };
  // One connection holds this process's locks: its name's (the owner's) and its jobs'.
  const leadership = processLeadership(config, logger);
  const owner = processOwner(leadership);
  const proposals = await ProposalStore.open(location);
  const amendments = await composeAmendments(loops, proposals, owner);
  const stopEvaluating = bus.subscribe('high_cognitive_dissonance', async () => {
    await amendments.evaluate();
  });
  const scheduler = composeScheduler(logger, clock, { amendments, metrics, leadership });
  const reactions = await ReactionStore.open(location);
  const { curation, golden } = await composeCuration(loops, { reactions, location });
  curationRef = curation;
  const fineTuner = await composeFineTuner(loops, { store: finetunes, curation, golden, limiter, owner });
  const forgetting = composeForgetting({ ...base, memory, fineTuner, proposals, amendments, dialogue });
  const stopRetrying = retryEmbeddings(clock, limiter, memory);
  let closed = false;
  logger.info({ codexVersion: codex.codex().data.version, dataDir: config.dataDir }, 'runtime ready');
  return {
    config,
    logger,
    clock,
    bus,
    dialogue: dialogue.dialogue,
    memory,
    limiter,
    tools,
    toolForge,
    amendments,
    curation,
    reactions,
    scheduler,
    fineTuner,
    forgetting,
    metrics,
    storesOpen: () => !closed && storesAnswer({ memory, proposals, finetunes, reactions }),
    reloadCodex: () => codex.reload(),
    codex: codex.codex,
    personas: codex.personas,
    providers,
    checkModels: () => checkModels(providers, (id) => activeModel(id) ?? codex.personas().get(id).model),
    async close() {
      closed = true;
      stopRetrying();
      stopEvaluating();
      // A curation run stops between two model calls; the scheduler then has nothing to wait for.
      await curation.close();
      await reactions.close();
      await scheduler.stop();
      await fineTuner.close();
      await finetunes.close();
      await amendments.close();
      await owner.close();
      await proposals.close();
      await sandbox.close();
      await tools.registry.close();
      await memory.close();
      await dialogue.close();
    },
  };
}

/** Whether each store answers a cheap read (a closed or broken database throws). */
function storesAnswer(stores: {
  memory: Pick<Memory, 'answering'>;
  proposals: Pick<ProposalStore, 'open'>;
  finetunes: Pick<FinetuneStore, 'open'>;
  reactions: Pick<ReactionStore, 'open'>;
}): boolean {
  try {
    return stores.memory.answering && stores.proposals.open && stores.finetunes.open && stores.reactions.open;
  } catch {
    return false;
  }
}

/** Checks that the servers answer and have the model in force for each persona of the graph. */
function checkModels(providers: Providers, modelOf: (persona: string) => string): Promise<void> {
  return providers.check(GRAPH_PERSONAS.map((persona) => ({ persona, model: modelOf(persona) })));
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
  const codexWatcher = await startBotJobs(runtime, options);
  const store = await openAppStore(storeLocation(config, dropped(logger)), (error) =>
    logger.error({ err: error }, 'state store error'),
  );
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

/**
 * The nightly fine-tune, the curation job and the codex watcher belong to the bot, not to a
 * terminal chat beside it. Returns the watcher, closed with the app.
 */
async function startBotJobs(runtime: Runtime, options: ComposeAppOptions): Promise<{ close(): void }> {
  const { config, logger } = runtime;
  runtime.scheduler.add(runtime.fineTuner.job(config.finetuneCron));
  // A kill may have torn a golden dataset's last line: cut now, before the job appends.
  const curated = await runtime.curation.start();
  if ('busy' in curated) {
    logger.warn(
      { pid: curated.busy },
      'another process is curating: the golden sets are checked when it is done',
    );
  }
  runtime.scheduler.add(
    createCurationJob({ curation: runtime.curation, bus: runtime.bus, cron: config.curationCron }),
  );
  return watchCodex({
    path: config.codexPath,
    clock: runtime.clock,
    logger,
    ...(options.codexDebounceMs !== undefined ? { debounceMs: options.codexDebounceMs } : {}),
    onEdit: (text) => {
      runtime.amendments
        .adoptHostEdit(text)
        .catch((error: unknown) => logger.error({ err: error }, 'could not adopt an edit of the codex'));
    },
    // Told like a codex that does not parse: the operator hears why their edit is not in force.
    onRefused: (problems) => runtime.bus.publish('codex_refused', { problems }),
  });
}
