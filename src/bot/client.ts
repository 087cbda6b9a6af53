import {
  Client,
  type ClientOptions,
  GatewayIntentBits,
  Options,
  Partials,
  type SweeperOptions,
} from 'discord.js';
import type { Config } from '../services/config.ts';
import { shardsOfThisProcess } from '../services/shardingConfig.ts';
import { NO_MENTIONS } from './posting/mentions.ts';

/**
 * The gateway intents the bot needs, and no more: guilds (channels, roles, threads), guild
 * messages and their content (follow-ups in threads need no mention), reactions in servers
 * (members' 👍 and 👎 on persona posts count in curation; not privileged), direct messages (to
 * explain that the bot works in servers).
 */
export const BOT_INTENTS = [
  GatewayIntentBits.Guilds,
  GatewayIntentBits.GuildMessages,
  GatewayIntentBits.MessageContent,
  GatewayIntentBits.GuildMessageReactions,
  GatewayIntentBits.DirectMessages,
];

/**
 * What discord.js may hand over incomplete: DM channels, and, since no message is cached (see
 * {@link BOT_CACHES}), the message, reaction and user of every reaction event, which it would
 * drop otherwise.
 */
export const BOT_PARTIALS = [Partials.Channel, Partials.Message, Partials.Reaction, Partials.User];

/**
 * What discord.js keeps of what it sees. The bot handles each message as it arrives and never
 * looks one up in the cache again (a card it edits is held or fetched by id), so no message is
 * kept: by default every channel and thread kept its last 200, each with its author (a new user
 * object for every persona post) and reactions, and a soak of 2,000 dialogues grew the heap by
 * about 10 KB a dialogue. Threads stay cached while active (discord.js needs them to deliver a
 * follow-up); once Discord archives one (a day after its last message) it is swept within hours.
 */
export const BOT_CACHES = {
  makeCache: Options.cacheWithLimits({
    ...Options.DefaultMakeCacheSettings,
    MessageManager: 0,
    // Who else is in a thread is never asked either.
    ThreadMemberManager: 0,
  }),
  sweepers: { ...Options.DefaultSweeperSettings, threads: { interval: 3_600, lifetime: 3_600 } },
} satisfies Pick<ClientOptions, 'makeCache' | 'sweepers'>;

/**
 * The discord.js client as the bot runs it: its intents, caches, sweepers, shards and REST address
 * (the shared proxy, when there is one: Discord's limits are the bot's, not a process's).
 */
export function createClient(
  config: Pick<Config, 'discordApiUrl' | 'discordRestProxy' | 'shardCount' | 'shards'>,
  sweepers?: SweeperOptions,
): Client {
  return new Client({
    intents: BOT_INTENTS,
    partials: BOT_PARTIALS,
    allowedMentions: NO_MENTIONS,
    shards: shardsOfThisProcess(config),
    shardCount: config.shardCount,
    rest: { api: config.discordRestProxy ?? config.discordApiUrl },
    makeCache: BOT_CACHES.makeCache,
    sweepers: { ...BOT_CACHES.sweepers, ...sweepers },
  });
}
