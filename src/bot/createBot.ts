import { Client, Events, GatewayIntentBits, Partials } from 'discord.js';
import type { Runtime } from '../runtime.ts';
import type { AppStore } from '../services/appStore.ts';
import type { BotContext } from './botContext.ts';
import type { CommandRegistry } from './commandRegistry.ts';
import { createDialogueRunner } from './dialogueRunner.ts';
import { createMessageHandler } from './events/messageCreate.ts';
import { postUnplacedProposals, wireGovernance } from './governance.ts';
import { createInteractionRouter } from './interactionRouter.ts';
import { createMotivatorJob } from './motivator.ts';
import { createPersonaPoster, NO_MENTIONS } from './personaPoster.ts';
import { toolCard } from './toolCard.ts';

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

export interface Bot {
  readonly client: Client;
  readonly context: BotContext;
  /** Logs in and resolves once the gateway is ready. */
  start(token: string): Promise<void>;
  /** Stops taking messages, stops the running dialogues (checkpointed), logs out. */
  stop(): Promise<void>;
}

export interface BotDeps {
  runtime: Runtime;
  store: AppStore;
  commands: CommandRegistry;
  clock?: () => number;
}

export function createBot(deps: BotDeps): Bot {
  const { runtime, store } = deps;
  const logger = runtime.logger.child({ module: 'bot' });
  const client = new Client({
    intents: BOT_INTENTS,
    partials: [Partials.Channel],
    allowedMentions: NO_MENTIONS,
    rest: { api: runtime.config.discordApiUrl },
  });
  const poster = createPersonaPoster({ client, store, logger });
  const runner = createDialogueRunner({ runtime, poster, logger });
  const knownThreads = new Set<string>();
  let lastActivity = (deps.clock ?? Date.now)();
  const context: BotContext = {
    client,
    runtime,
    runner,
    store,
    logger,
    startedAt: (deps.clock ?? Date.now)(),
    async registerThread(threadId, info) {
      knownThreads.add(threadId);
      await store.set(`thread:${threadId}`, { ...info, createdAt: Date.now() });
    },
    lastHumanActivity: () => lastActivity,
    architects() {
      const { architectRole, discordGuildId, governanceChannelId } = runtime.config;
      const governance = governanceChannelId ? client.channels.cache.get(governanceChannelId) : undefined;
      const homeGuildId =
        discordGuildId ?? (governance && 'guildId' in governance ? governance.guildId : undefined);
      return { role: architectRole, homeGuildId };
    },
    async isBotThread(threadId, ownerId) {
      if (knownThreads.has(threadId) || (ownerId && ownerId === client.user?.id)) return true;
      if (await store.get(`thread:${threadId}`)) {
        knownThreads.add(threadId);
        return true;
      }
      return false;
    },
  };
  // Every new tool is announced in the log channel too (the thread or /forge reply has its own card).
  const unsubscribe = runtime.bus.subscribe('tool_forged', async ({ tool, code, conversationId }) => {
    const channelId = runtime.config.logChannelId;
    if (!channelId || !client.isReady()) return;
    const channel = await client.channels.fetch(channelId);
    if (!channel?.isSendable()) {
      logger.warn({ channelId }, 'LOG_CHANNEL_ID is not a channel the bot can post in');
      return;
    }
    const where = /^\d{15,21}$/.test(conversationId) ? `-# asked for in <#${conversationId}>` : '';
    await channel.send({
      ...toolCard(tool, code),
      ...(where ? { content: where } : {}),
      allowedMentions: NO_MENTIONS,
    });
  });
  const stopGovernance = wireGovernance(context, client, logger);
  const onMessage = createMessageHandler(context);
  const onInteraction = createInteractionRouter(context, deps.commands);
  let stopping = false;

  client.on(Events.MessageCreate, (message) => {
    if (stopping) return;
    if (!message.author.bot && !message.webhookId) lastActivity = Date.now();
    onMessage(message).catch((error: unknown) =>
      logger.error({ err: error, channelId: message.channelId }, 'message handler failed'),
    );
  });
  client.on(Events.InteractionCreate, (interaction) => {
    if (stopping) return;
    lastActivity = Date.now();
    onInteraction(interaction).catch((error: unknown) =>
      logger.error({ err: error }, 'interaction router failed'),
    );
  });
  client.on(Events.Error, (error) => logger.error({ err: error }, 'discord client error'));
  client.on(Events.Warn, (message) => logger.warn(message));

  return {
    client,
    context,
    async start(token) {
      const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
      await client.login(token);
      await ready;
      logger.info({ user: client.user?.tag, guilds: client.guilds.cache.size }, 'connected to Discord');
      await postUnplacedProposals(context).catch((error: unknown) =>
        logger.error({ err: error }, 'could not post a pending proposal'),
      );
      const { autonomyCron, autonomyChannelId } = runtime.config;
      if (autonomyCron && !autonomyChannelId) {
        logger.warn('AUTONOMY_CRON is set but AUTONOMY_CHANNEL_ID is not: the motivator stays off');
      } else if (autonomyCron && autonomyChannelId) {
        runtime.scheduler.add(createMotivatorJob(context, autonomyCron, autonomyChannelId));
      }
    },
    async stop() {
      stopping = true;
      await runtime.scheduler.remove('motivator');
      unsubscribe();
      stopGovernance();
      await runner.shutdown();
      await client.destroy();
    },
  };
}
