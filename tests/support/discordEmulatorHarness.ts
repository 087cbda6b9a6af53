import {
  Client,
  type ClientOptions,
  DiscordAPIError,
  Events,
  GatewayIntentBits,
  type Interaction,
  type Message,
  Partials,
  type TextChannel,
} from 'discord.js';
import { DiscordEmulator, type DiscordEmulatorOptions } from './discordEmulator.ts';

/** The real discord.js Client, configured as the bot configures it, logged into an emulator. */
export interface EmulatorClientHarness {
  emulator: DiscordEmulator;
  client: Client;
  /** Every MESSAGE_CREATE the client emitted, in order. */
  messages: Message[];
  interactions: Interaction[];
  /** The default channel ('general'), from the client's cache. */
  channel: TextChannel;
  /** Destroys the client (closing its gateway session with 1000) and closes the emulator. */
  close(): Promise<void>;
}

/**
 * Logs a fresh discord.js Client into `emulator`; resolves on `ready`. Its intents and partials
 * are the bot's of old (guilds, messages and their content, DMs) unless `options` names others
 * (and its caches discord.js's own unless `options.makeCache` is given; its shard the only one
 * unless `options.shards` and `shardCount` say).
 */
export async function loginClient(
  emulator: DiscordEmulator,
  options: Partial<Pick<ClientOptions, 'intents' | 'partials' | 'makeCache' | 'shards' | 'shardCount'>> = {},
): Promise<{ client: Client; messages: Message[]; interactions: Interaction[] }> {
  const client = new Client({
    intents: [
      GatewayIntentBits.Guilds,
      GatewayIntentBits.GuildMessages,
      GatewayIntentBits.MessageContent,
      GatewayIntentBits.DirectMessages,
    ],
    partials: [Partials.Channel],
    ...options,
    rest: { api: emulator.apiUrl },
  });
  const messages: Message[] = [];
  const interactions: Interaction[] = [];
  client.on(Events.MessageCreate, (message) => messages.push(message));
  client.on(Events.InteractionCreate, (interaction) => interactions.push(interaction));
  const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
  await client.login(emulator.token);
  await ready;
  return { client, messages, interactions };
}

/** Starts an emulator and logs the real discord.js Client into it. */
export async function startEmulatorClient(
  options: DiscordEmulatorOptions = {},
): Promise<EmulatorClientHarness> {
  const emulator = await DiscordEmulator.start(options);
  const { client, messages, interactions } = await loginClient(emulator);
  const channel = client.channels.cache.get(emulator.channelId) as TextChannel;
  return {
    emulator,
    client,
    messages,
    interactions,
    channel,
    async close() {
      await client.destroy();
      await emulator.close();
    },
  };
}

/** The DiscordAPIError a promise rejects with (fails if it resolves or rejects otherwise). */
export async function apiError(promise: Promise<unknown>): Promise<DiscordAPIError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  if (!(error instanceof DiscordAPIError))
    throw new Error(`expected a DiscordAPIError, got ${String(error)}`);
  return error;
}

/** A raw REST response: status, headers and parsed JSON body (undefined when empty). */
export interface RawResponse {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: arbitrary JSON inspected freely by tests
  body: any;
}

/**
 * A raw `fetch` to the emulator's REST API (`path` without `/api/v10`), with the bot token unless
 * `auth: false`: for asserting on status codes and headers that discord.js hides.
 */
export async function rawApi(
  emulator: DiscordEmulator,
  method: string,
  path: string,
  options: { body?: unknown; auth?: boolean } = {},
): Promise<RawResponse> {
  const headers: Record<string, string> = {};
  if (options.auth !== false) headers.Authorization = `Bot ${emulator.token}`;
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  const init: RequestInit = { method, headers };
  if (options.body !== undefined) init.body = JSON.stringify(options.body);
  const response = await fetch(`${emulator.apiUrl}/v10${path}`, init);
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
}
