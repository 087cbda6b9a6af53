import { join } from 'node:path';
import { type App, type ComposeOptions, composeApp, type Runtime } from '../../src/app/compose.ts';
import type { Bot } from '../../src/bot/createBot.ts';
import type { Command } from '../../src/bot/interactions/command.ts';
import { createCommandRegistry, loadCommands } from '../../src/bot/interactions/commandRegistry.ts';
import type { PostingLimits } from '../../src/bot/posting/postingScheduler.ts';
import type { AppStore } from '../../src/services/appStore.ts';
import { loadConfig } from '../../src/services/config.ts';
import { createSilentLogger } from '../../src/services/logger.ts';
import type { DiscordEmulator, DiscordEmulatorOptions, RateLimit } from './discordEmulator.ts';
import { startEmulators } from './emulators.ts';
import { FAST_RETRY, REPO_ROOT } from './fixtures.ts';
import type { OllamaEmulator } from './ollamaEmulator.ts';
import { scriptRound } from './scripts.ts';

/** Discord's posting limits a tenth as long (5 per 200 ms per webhook, 30 per 6 s per channel): for the emulator and the bot alike. */
export const SCALED_LIMITS = Object.freeze({
  WEBHOOK: { limit: 5, windowMs: 200 } satisfies RateLimit,
  CHANNEL: { limit: 30, windowMs: 6_000 } satisfies RateLimit,
  SCALED: {
    webhook: { limit: 5, windowMs: 200 },
    channel: { limit: 30, windowMs: 6_000 },
    marginMs: 5,
    noticeAfterMs: 500,
  } satisfies Partial<PostingLimits>,
});

export interface BotHarness {
  discord: DiscordEmulator;
  ollama: OllamaEmulator;
  bot: Bot;
  app: App;
  runtime: Runtime;
  store: AppStore;
  /** A human member of the guild. */
  userId: string;
  /** The channels made for `channels`, by setting (e.g. `GOVERNANCE_CHANNEL_ID`). */
  channels: Record<string, string>;
  /** Scripts one plain round: plan, thesis, antithesis (dissonance 0.1), answer. */
  scriptRound(tag: string): void;
  /**
   * Resolves once the bot has read every gateway event sent before this call: a user DMs it and
   * its answer comes back (events are handled in order). For "nothing happened" assertions,
   * without a fixed wait.
   */
  settle(): Promise<void>;
  /** Starts another bot on the same data (after `stopBot`). */
  restartBot(): Promise<Bot>;
  stopBot(): Promise<void>;
  close(): Promise<void>;
}

export interface BotHarnessOptions {
  env?: Record<string, string>;
  /** Extra commands beside the shipped ones (e.g. to test the router). */
  extraCommands?: Command[];
  discord?: DiscordEmulatorOptions;
  /** Channels to create and set, by setting: `{ LOG_CHANNEL_ID: 'bot-log' }`. */
  channels?: Record<string, string>;
  /** Passed to the composition root (a clock, a retry policy). */
  compose?: ComposeOptions;
}

/**
 * The real bot — unmodified discord.js Client, real @langchain/ollama, real SQLite — wired to
 * the Discord and Ollama emulators on 127.0.0.1.
 */
export async function startBotHarness(options: BotHarnessOptions = {}): Promise<BotHarness> {
  const emulators = await startEmulators(options.discord);
  const { discord, ollama } = emulators;
  const channels = Object.fromEntries(
    Object.entries(options.channels ?? {}).map(([setting, name]) => [setting, discord.createChannel(name)]),
  );
  const env = {
    ...channels,
    // The architect role counts in the emulator's server only, as in a real deployment.
    ...emulators.env,
    LOG_LEVEL: 'silent',
    // Turns posted whole, unless a test is about streaming them (tests/e2e/streaming.test.ts).
    STREAM_TURNS: 'false',
    ...options.env,
  };
  const config = loadConfig(env);
  const shipped = await loadCommands(join(REPO_ROOT, 'commands'));
  const commands = createCommandRegistry(
    [...shipped.list(), ...(options.extraCommands ?? [])].map((module) => ({
      source: module.data.name,
      module,
    })),
  );
  // The same composition as `npm start`: Ollama check, state store with its error handler, bot.
  const app = await composeApp(config, createSilentLogger(), {
    retry: FAST_RETRY,
    ...options.compose,
    commands,
  });
  const { runtime, store } = app;
  await app.bot.start(discord.token);
  const userId = discord.createUser('alice');

  return {
    discord,
    ollama,
    get bot() {
      return app.bot;
    },
    app,
    runtime,
    store,
    userId,
    channels,
    scriptRound(tag) {
      scriptRound(ollama, {
        plan: `plan ${tag}`,
        thesis: `thesis ${tag}`,
        antithesis: `antithesis ${tag}`,
        answer: `answer ${tag}`,
      });
    },
    async settle() {
      const dm = discord.userDMs(userId, 'are you there?');
      await discord.waitFor(() =>
        discord
          .messages(dm.channel_id)
          .find((m) => m.author.id === discord.botUserId && BigInt(m.id) > BigInt(dm.id)),
      );
    },
    async stopBot() {
      await app.bot.stop();
    },
    async restartBot() {
      const bot = app.rebuildBot();
      await bot.start(discord.token);
      return bot;
    },
    async close() {
      await app.close();
      await emulators.close();
    },
  };
}
