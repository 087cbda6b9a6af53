import {
  Client,
  type ClientOptions,
  channelMention,
  Events,
  GatewayIntentBits,
  type Message,
  Options,
  Partials,
  type SweeperOptions,
} from 'discord.js';
import type { Dialogue } from '../graph/dialogue.ts';
import type { AppStore } from '../services/appStore.ts';
import type { Clock } from '../services/clock.ts';
import type { Codex } from '../services/codex/loadCodex.ts';
import type { Config } from '../services/config.ts';
import type { Curation } from '../services/curation/curation.ts';
import { createCurationTrigger } from '../services/curation/curationJob.ts';
import { diskUsage } from '../services/diskUsage.ts';
import type { EventBus } from '../services/eventBus.ts';
import type { FineTuner } from '../services/finetune/fineTuner.ts';
import type { Amendments } from '../services/governance/amendments.ts';
import type { Limiter } from '../services/llm/limiter.ts';
import type { Providers } from '../services/llm/providers.ts';
import type { Logger } from '../services/logger.ts';
import type { Memory } from '../services/memory/memory.ts';
import type { Metrics } from '../services/metrics.ts';
import type { PersonaRegistry } from '../services/personas.ts';
import type { Scheduler } from '../services/scheduler.ts';
import { createSlidingWindow } from '../services/slidingWindow.ts';
import type { ToolForge } from '../services/tools/toolPorts.ts';
import type { ToolService } from '../services/tools/toolService.ts';
import { createArchitectGate } from './access/architects.ts';
import { createChannelAccess } from './access/channelAccess.ts';
import { toolCard } from './cards/toolCard.ts';
import { createContinuity } from './dialogue/continuity.ts';
import { createDialogueRunner } from './dialogue/dialogueRunner.ts';
import { createMotivatorJob } from './dialogue/motivator.ts';
import { type BotThreads, createDialogueStarter } from './dialogue/startDialogue.ts';
import { announceCuration } from './events/curationFinished.ts';
import { createMessageHandler } from './events/messageCreate.ts';
import { createFinetuneUi } from './finetune/finetuneUi.ts';
import { createGovernanceUi } from './governance/governanceUi.ts';
import { type ButtonFamily, createButtonRegistry } from './interactions/buttons.ts';
import type { CommandRegistry } from './interactions/commandRegistry.ts';
import { createInteractionRouter } from './interactions/interactionRouter.ts';
import type { BotPorts, HumanActivity } from './ports.ts';
import { createPersonaPoster, NO_MENTIONS } from './posting/personaPoster.ts';
import type { PostingLimits } from './posting/postingScheduler.ts';
import type { TurnStreamSettings } from './posting/turnStream.ts';

/**
 * The gateway intents the bot needs, and no more: guilds (channels, roles, threads), guild
 * messages and their content (follow-ups in threads need no mention), direct messages (to
 * explain that the bot works in servers).
 */
export const BOT_INTENTS = [
  GatewayIntentBits.Guilds,
  GatewayIntentBits.GuildMessages,
  GatewayIntentBits.MessageContent,
  GatewayIntentBits.DirectMessages,
];

/**
 * What discord.js keeps of what it sees. The bot handles each message as it arrives and never
 * looks one up in the cache again (a card it edits is held or fetched by id), so no message is
 * kept: by default every channel and thread kept its last 200, each with its author (a new user
 * object for every persona post) and reactions, and a soak of 2,000 dialogues grew the heap by
 * about 10 KB a dialogue. Threads stay cached while active (discord.js needs them to deliver a
 * follow-up); once Discord archives one (a day after its last message) it is swept within hours.
 */
const BOT_CACHES = {
  makeCache: Options.cacheWithLimits({
    ...Options.DefaultMakeCacheSettings,
    MessageManager: 0,
    // Who else is in a thread is never asked either.
    ThreadMemberManager: 0,
  }),
  sweepers: { ...Options.DefaultSweeperSettings, threads: { interval: 3_600, lifetime: 3_600 } },
} satisfies Pick<ClientOptions, 'makeCache' | 'sweepers'>;

/** Conversation threads remembered in memory beside the store (the rest are looked up there). */
const KNOWN_THREADS = 1_000;

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
  readonly limiter: Limiter;
  readonly bus: EventBus;
  readonly fineTuner: FineTuner;
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

export function createBot(deps: BotDeps): Bot {
  const { config, clock, store, services } = deps;
  const logger = deps.logger.child({ module: 'bot' });
  const client = new Client({
    intents: BOT_INTENTS,
    partials: [Partials.Channel],
    allowedMentions: NO_MENTIONS,
    rest: { api: config.discordApiUrl },
    makeCache: BOT_CACHES.makeCache,
    sweepers: { ...BOT_CACHES.sweepers, ...deps.sweepers },
  });
  const poster = createPersonaPoster({
    client,
    store,
    logger,
    clock,
    ...(deps.posting ? { limits: deps.posting } : {}),
    ...(deps.stream ? { stream: deps.stream } : {}),
  });
  const continuity = createContinuity({ client, store, clock, logger });
  const access = createChannelAccess(client);
  const runner = createDialogueRunner({
    recallScope: (thread) => (thread.guildId ? access.sharedWith(thread.parentId ?? thread.id) : undefined),
    dialogue: services.dialogue,
    speaker: (id) => services.personas().get(id),
    tool: (name, version) => services.tools.registry.get(name, version),
    metrics: services.metrics,
    streamTurns: config.streamTurns,
    clock,
    logger,
  });
  // The store knows every thread; the most recent are also kept here, a bounded few.
  const knownThreads = new Set<string>();
  const know = (threadId: string) => {
    knownThreads.delete(threadId);
    knownThreads.add(threadId);
    if (knownThreads.size > KNOWN_THREADS) knownThreads.delete(knownThreads.values().next().value as string);
  };
  const threads: BotThreads = {
    async register(threadId, info) {
      know(threadId);
      await store.set(`thread:${threadId}`, { ...info, createdAt: clock.now() });
    },
    async isOurs(threadId) {
      // Registered threads only: the bot also owns threads that are not conversations (a
      // proposal's history), where a reply must not start a dialogue.
      if (knownThreads.has(threadId)) return true;
      if (await store.get(`thread:${threadId}`)) {
        know(threadId);
        return true;
      }
      return false;
    },
  };
  let lastActivity = clock.now();
  const activity: HumanActivity = {
    last: () => lastActivity,
    touch: () => {
      lastActivity = clock.now();
    },
  };
  const architects = createArchitectGate({ client, config });
  const governance = createGovernanceUi({
    client,
    config,
    logger,
    access,
    memory: services.memory,
    amendments: services.amendments,
    architects,
    bus: services.bus,
  });
  const ports: BotPorts = {
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
      continuity,
      memberRuns: createSlidingWindow({ limit: config.memberRunsPerHour, windowMs: 3_600_000, clock }),
      threads,
      runner,
      poster,
      logger,
    }),
    architects,
    access,
    activity,
    governance,
    curationJob: createCurationTrigger(services),
    health: {
      models: () => services.providers.health(),
      providerOf: (personaId) => services.providers.of(personaId),
      hasModel: (provider, models, model) => services.providers.has(provider, models, model),
      diskUsage,
    },
    commandList: () => deps.commands.list(),
  };

  // Every new tool is announced in the log channel too (the thread or /forge reply has its own card).
  const stopAnnouncingTools = services.bus.subscribe(
    'tool_forged',
    async ({ tool, code, conversationId }) => {
      const channelId = config.logChannelId;
      if (!channelId || !client.isReady()) return;
      const channel = await client.channels.fetch(channelId).catch(() => null);
      if (!channel?.isSendable()) {
        logger.warn({ channelId }, 'LOG_CHANNEL_ID is not a channel the bot can post in');
        return;
      }
      const where = /^\d{15,21}$/.test(conversationId)
        ? `-# asked for in ${channelMention(conversationId)}`
        : '';
      await channel.send({
        ...toolCard(tool, code),
        ...(where ? { content: where } : {}),
        allowedMentions: NO_MENTIONS,
      });
    },
  );
  const stopAnnouncingCuration = announceCuration({ bus: services.bus, client, config, logger });
  const stopGovernance = governance.listen();
  const finetuneUi = createFinetuneUi({
    client,
    config,
    fineTuner: services.fineTuner,
    architects,
    bus: services.bus,
    clock,
    logger,
  });
  const stopFinetunes = finetuneUi.listen();
  const onMessage = createMessageHandler(ports);
  const onInteraction = createInteractionRouter({
    commands: deps.commands,
    buttons: createButtonRegistry([governance.buttons, finetuneUi.buttons, ...(deps.buttons ?? [])]),
    ports,
    logger,
  });
  let stopping: Promise<void> | undefined;
  let stopHeartbeat = () => {};

  /** A person's message, live or read back after a restart: handled once. */
  const handleOnce = async (message: Message) => {
    if (message.author.bot || message.webhookId || message.system) return;
    if (await continuity.firstSighting(message)) await onMessage(message);
  };
  client.on(Events.MessageCreate, (message) => {
    if (stopping) return;
    if (!message.author.bot && !message.webhookId) activity.touch();
    handleOnce(message).catch((error: unknown) =>
      logger.error({ err: error, channelId: message.channelId }, 'message handler failed'),
    );
  });
  client.on(Events.InteractionCreate, (interaction) => {
    if (stopping) return;
    activity.touch();
    onInteraction(interaction).catch((error: unknown) =>
      logger.error({ err: error }, 'interaction router failed'),
    );
  });
  // Discord's 429s, counted by scope (the posting engine keeps them rare; a metric proves it).
  client.rest.on('response', (_request, response) => {
    if (response.status === 429)
      services.metrics.discordRateLimited(response.headers.get('x-ratelimit-scope') ?? 'user');
  });
  client.on(Events.Error, (error) => logger.error({ err: error }, 'discord client error'));
  client.on(Events.Warn, (message) => logger.warn(message));

  return {
    client,
    ports,
    async start(token) {
      const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
      await client.login(token);
      await ready;
      logger.info({ user: client.user?.tag, guilds: client.guilds.cache.size }, 'connected to Discord');
      if (!architects.policy().homeGuildId) {
        logger.error(
          'GOVERNANCE IS OFF: the bot does not know its home server, so nobody may approve, reject, roll back, forge or remove tools. Set DISCORD_GUILD_ID to your server id (or GOVERNANCE_CHANNEL_ID to a channel the bot can see) and restart.',
        );
      }
      await governance
        .repostPending()
        .catch((error: unknown) => logger.error({ err: error }, 'could not post a pending proposal'));
      // Threads a crash cut short are told so; messages sent while the bot was down are read now.
      await continuity
        .resume(handleOnce)
        .catch((error: unknown) => logger.error({ err: error }, 'could not catch up after a restart'));
      stopHeartbeat = clock.every(60_000, () => void continuity.heartbeat().catch(() => undefined));
      const { autonomyCron, autonomyChannelId } = config;
      if (autonomyCron && !autonomyChannelId) {
        logger.warn('AUTONOMY_CRON is set but AUTONOMY_CHANNEL_ID is not: the motivator stays off');
      } else if (autonomyCron && autonomyChannelId) {
        services.scheduler.add(createMotivatorJob(ports, autonomyCron, autonomyChannelId));
      }
    },
    stop() {
      stopping ??= (async () => {
        await services.scheduler.remove('motivator');
        stopAnnouncingTools();
        stopAnnouncingCuration();
        stopGovernance();
        stopFinetunes();
        stopHeartbeat();
        await runner.shutdown();
        await continuity.heartbeat().catch(() => undefined);
        await client.destroy();
      })();
      return stopping;
    },
  };
}
