import type { Client, SweeperOptions } from 'discord.js';
import type { Dialogue } from '../graph/dialogue.ts';
import type { AppStore } from '../services/appStore.ts';
import type { Clock } from '../services/clock.ts';
import type { Codex } from '../services/codex/loadCodex.ts';
import type { Config } from '../services/config.ts';
import type { Curation } from '../services/curation/curation.ts';
import { createCurationTrigger } from '../services/curation/curationJob.ts';
import { DEFAULT_REACTIONS, type ReactionStore } from '../services/curation/reactions.ts';
import { diskUsage } from '../services/diskUsage.ts';
import type { EventBus } from '../services/eventBus.ts';
import type { FineTuner } from '../services/finetune/fineTuner.ts';
import type { Forgetting } from '../services/forgetting/forgetting.ts';
import type { Amendments } from '../services/governance/amendments.ts';
import type { Limiter } from '../services/llm/limiter.ts';
import type { Providers } from '../services/llm/providers.ts';
import type { Logger } from '../services/logger.ts';
import type { Memory } from '../services/memory/memory.ts';
import type { Metrics } from '../services/metrics.ts';
import type { PersonaRegistry } from '../services/personas.ts';
import type { Scheduler } from '../services/scheduler.ts';
import { shardsOfThisProcess } from '../services/shardingConfig.ts';
import { createSlidingWindow, type SlidingWindow } from '../services/slidingWindow.ts';
import type { ToolForge } from '../services/tools/toolPorts.ts';
import type { ToolService } from '../services/tools/toolService.ts';
import { createArchitectGate } from './access/architects.ts';
import { createChannelAccess } from './access/channelAccess.ts';
import { createHumanActivity } from './activity.ts';
import { createClient } from './client.ts';
import { createContinuity } from './dialogue/continuity.ts';
import { createDialogueRunner } from './dialogue/dialogueRunner.ts';
import { createDialogueStarter } from './dialogue/startDialogue.ts';
import { createBotThreads } from './dialogue/threads.ts';
import { logClientProblems } from './events/clientProblems.ts';
import { announceCuration } from './events/curationFinished.ts';
import { listenToInteractions } from './events/interactionCreate.ts';
import { createMessageHandler, handledOnce, listenToMessages } from './events/messageCreate.ts';
import { listenToReactions } from './events/messageReactions.ts';
import { countRateLimits } from './events/rateLimited.ts';
import { announceTools } from './events/toolForged.ts';
import { createFinetuneUi } from './finetune/finetuneUi.ts';
import { createGovernanceUi } from './governance/governanceUi.ts';
import { type ButtonFamily, createButtonRegistry } from './interactions/buttons.ts';
import type { CommandRegistry } from './interactions/commandRegistry.ts';
import { createInteractionRouter } from './interactions/interactionRouter.ts';
import { startBot } from './lifecycle.ts';
import type { BotPorts } from './ports.ts';
import { createPersonaPoster } from './posting/personaPoster.ts';
import type { PostingLimits } from './posting/postingScheduler.ts';
import type { TurnStreamSettings } from './posting/turnStream.ts';

export { BOT_INTENTS } from './client.ts';

export interface Bot {
  readonly client: Client;
  /** The ports handed to commands and handlers (tests drive the bot through them too). */
  readonly ports: BotPorts;
  /** Logs in and resolves once the gateway is ready. */
  start(token: string): Promise<void>;
  /** Stops taking messages, stops the running dialogues (checkpointed), logs out. */
  stop(): Promise<void>;
}

/** The services the bot speaks for: the runtime's, named one by one. */
export interface BotServices {
  readonly dialogue: Dialogue;
  readonly memory: Memory;
  readonly amendments: Amendments;
  readonly tools: ToolService;
  readonly toolForge: ToolForge;
  readonly scheduler: Scheduler;
  readonly curation: Curation;
  /** Which posts are which persona turns, and people's 👍 and 👎 on them. */
  readonly reactions: ReactionStore;
  readonly limiter: Limiter;
  readonly bus: EventBus;
  readonly fineTuner: FineTuner;
  /** `/memory forget` everywhere else a dialogue's words are kept. */
  readonly forgetting: Forgetting;
  /** Who serves the models and the embeddings, and whether they answer. */
  readonly providers: Pick<Providers, 'health' | 'of' | 'has'>;
  readonly metrics: Pick<Metrics, 'dialogue' | 'turn' | 'discordRateLimited'>;
  personas(): PersonaRegistry;
  codex(): Codex;
}

export interface BotDeps {
  config: Config;
  logger: Logger;
  clock: Clock;
  services: BotServices;
  store: AppStore;
  commands: CommandRegistry;
  /** Button families beside the shipped ones (the codex proposal buttons). */
  buttons?: ButtonFamily[];
  /** Discord's limits as persona posts are paced for them (default: Discord's; tests scale them down). */
  posting?: Partial<PostingLimits>;
  /** How streamed turns are paced (default: a round of edits a second per turn). */
  stream?: Partial<TurnStreamSettings>;
  /** discord.js's cache sweepers, over the bot's own (benchmarks run them more often). */
  sweepers?: SweeperOptions;
}

/**
 * Wires the bot: the client, the ports every handler and command is handed (each takes only the
 * few it declares), the listeners, and the start and stop. The behaviour lives in the rooms it
 * wires: `events/`, `dialogue/`, `posting/`, `interactions/`, `governance/`, `finetune/`.
 */
export function createBot(deps: BotDeps): Bot {
  const { config, clock, services } = deps;
  const logger = deps.logger.child({ module: 'bot' });
  const client = createClient(config, deps.sweepers);
  const continuity = createContinuity({
    client,
    store: deps.store,
    clock,
    logger,
    ...(config.shardCount > 1 ? { scope: `shards:${shardsOfThisProcess(config).join(',')}` } : {}),
  });
  // One window per member for everything that uses the models: dialogues and costly commands.
  const memberRuns = createSlidingWindow({ limit: config.memberRunsPerHour, windowMs: 3_600_000, clock });
  const ports = botPorts(deps, client, logger, continuity, memberRuns);
  const finetuneUi = createFinetuneUi({
    client,
    config,
    fineTuner: services.fineTuner,
    architects: ports.architects,
    bus: services.bus,
    clock,
    logger,
  });
  const stopListening = [
    announceTools({ bus: services.bus, client, config, logger, access: ports.access }),
    announceCuration({ bus: services.bus, client, config, logger }),
    ports.governance.listen(),
    finetuneUi.listen(),
  ];
  let stopping: Promise<void> | undefined;
  let stopHeartbeat = () => {};
  const isStopping = () => stopping !== undefined;
  const handle = handledOnce(continuity, createMessageHandler(ports));
  listenToMessages(client, { handle, activity: ports.activity, isStopping, logger });
  const route = createInteractionRouter({
    commands: deps.commands,
    buttons: createButtonRegistry([ports.governance.buttons, finetuneUi.buttons, ...(deps.buttons ?? [])]),
    ports,
    memberRuns,
    logger,
  });
  listenToInteractions(client, { route, activity: ports.activity, isStopping, logger });
  listenToReactions(client, {
    reactions: services.reactions,
    architects: ports.architects,
    curation: services.curation,
    emoji: () => services.codex().data.curation.reactions ?? DEFAULT_REACTIONS,
    clock,
    isStopping,
    logger,
  });
  countRateLimits(client, services.metrics);
  logClientProblems(client, logger);

  return {
    client,
    ports,
    async start(token) {
      stopHeartbeat = await startBot(
        { ...ports, continuity, handle, every: (ms, tick) => clock.every(ms, tick), motivator: ports },
        token,
      );
    },
    stop() {
      stopping ??= (async () => {
        await services.scheduler.remove('motivator');
        for (const stop of stopListening) stop();
        stopHeartbeat();
        await ports.runner.shutdown();
        await continuity.heartbeat().catch(() => undefined);
        await client.destroy();
      })();
      return stopping;
    },
  };
}

/** The whole set of ports, built once: the services, and the bot's own parts over the client. */
function botPorts(
  deps: BotDeps,
  client: Client,
  logger: Logger,
  continuity: ReturnType<typeof createContinuity>,
  memberRuns: SlidingWindow,
): BotPorts {
  const { config, clock, store, services } = deps;
  const poster = createPersonaPoster({
    client,
    store,
    logger,
    clock,
    ...(deps.posting ? { limits: deps.posting } : {}),
    ...(deps.stream ? { stream: deps.stream } : {}),
  });
  const architects = createArchitectGate({ client, config });
  const access = createChannelAccess(client, { homeGuildId: () => architects.policy().homeGuildId });
  const runner = createDialogueRunner({
    access,
    dialogue: services.dialogue,
    personas: services.personas,
    tool: (name, version) => services.tools.registry.get(name, version),
    continuity,
    metrics: services.metrics,
    streamTurns: config.streamTurns,
    turnPosts: services.reactions,
    clock,
    logger,
  });
  const threads = createBotThreads({ store, clock });
  return {
    ...services,
    client,
    config,
    logger,
    clock,
    startedAt: clock.now(),
    store,
    runner,
    threads,
    dialogues: createDialogueStarter({
      client,
      memberRuns,
      threads,
      runner,
      poster,
      logger,
    }),
    architects,
    access,
    activity: createHumanActivity(clock),
    governance: createGovernanceUi({
      client,
      config,
      logger,
      access,
      memory: services.memory,
      amendments: services.amendments,
      architects,
      bus: services.bus,
    }),
    curationJob: createCurationTrigger(services),
    health: {
      models: () => services.providers.health(),
      providerOf: (personaId) => services.providers.of(personaId),
      hasModel: (provider, models, model) => services.providers.has(provider, models, model),
      diskUsage,
    },
    commandList: () => deps.commands.list(),
  };
}
