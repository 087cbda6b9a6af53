/**
 * The in-memory guild: `createState` builds the emulator's state (the bot user, the guild and its
 * roles; `populateWorld` in world.ts adds the owner and 'general'), and the lookups every module
 * uses: snowflakes, users, members, channels, DM channels, messages, overwrites, the server's URLs.
 */

import { ChannelType, DISCORD_EPOCH, INTERACTION_TOKEN_LIFETIME_MS } from './constants.ts';
import type {
  ChannelState,
  EmulatorState,
  GuildState,
  MemberState,
  OverwriteState,
  RoleState,
} from './model.ts';
import { DEFAULT_BOT_PERMISSIONS, DEFAULT_MEMBER_PERMISSIONS } from './permissions.ts';
import { unknownMessage } from './results.ts';
import {
  type ChannelOverwrite,
  DEFAULT_RATE_LIMITS,
  type DiscordEmulatorOptions,
  type EmulatedMessage,
  type EmulatedUser,
} from './types.ts';
import { nowIso, randomToken } from './util.ts';

/**
 * The state of a new emulator: the bot user (its id is also the application's), the guild with
 * @everyone (granting nothing unless `everyonePermissions` says, so the bot's permissions are exactly its managed role's), the
 * `member` role and the bot's role, and the bot as a member. `building` stays true until
 * `populateWorld` has added the owner and the default channel.
 */
export function createState(options: DiscordEmulatorOptions): EmulatorState {
  const ids = { lastSnowflake: 0n };
  const botUserId = snowflake(ids);
  const token = `${Buffer.from(botUserId).toString('base64url')}.${randomToken(4)}.${randomToken(20)}`;
  const users = new Map<string, EmulatedUser>();
  users.set(botUserId, {
    id: botUserId,
    username: 'emulated-bot',
    discriminator: '0',
    avatar: null,
    bot: true,
  });
  const guildId = snowflake(ids);
  const roles = new Map<string, RoleState>();
  // Discord's rule: the @everyone role's id is the guild id.
  roles.set(guildId, {
    id: guildId,
    guildId,
    name: '@everyone',
    permissions: options.everyonePermissions ?? 0n,
    position: 0,
    managed: false,
  });
  const memberRoleId = snowflake(ids);
  roles.set(memberRoleId, {
    id: memberRoleId,
    guildId,
    name: 'member',
    permissions: DEFAULT_MEMBER_PERMISSIONS,
    position: 1,
    managed: false,
  });
  const botRoleId = snowflake(ids);
  roles.set(botRoleId, {
    id: botRoleId,
    guildId,
    name: 'emulated-bot',
    permissions: DEFAULT_BOT_PERMISSIONS,
    position: 2,
    managed: true,
    botId: botUserId,
  });
  const members = new Map<string, MemberState>();
  members.set(botUserId, { userId: botUserId, roles: [botRoleId], joinedAt: nowIso() });
  return {
    token,
    applicationId: botUserId,
    botUserId,
    guildId,
    ownerId: '',
    channelId: '',
    memberRoleId,
    botRoleId,
    guilds: new Map([[guildId, { id: guildId, name: 'Emulated Guild', memberRoleId, botRoleId }]]),
    messageContentIntent: options.messageContentIntent ?? true,
    interactionAckTimeoutMs: options.interactionAckTimeoutMs ?? 3000,
    interactionTokenLifetimeMs: options.interactionTokenLifetimeMs ?? INTERACTION_TOKEN_LIFETIME_MS,
    clock: options.now ?? (() => performance.now()),
    recommendedShards: options.shards ?? 1,
    maxConcurrency: options.maxConcurrency ?? 1,
    port: 0,
    building: true,
    lastSnowflake: ids.lastSnowflake,
    users,
    members,
    roles,
    channels: new Map(),
    channelMessages: new Map(),
    ephemeralMessages: new Map(),
    attachmentData: new Map(),
    messageEdits: new Map(),
    reactions: new Map(),
    dmChannelByUser: new Map(),
    webhookStates: new Map(),
    interactionStates: new Map(),
    commandStates: [],
    requests: [],
    events: [],
    gatewayReceived: [],
    identified: [],
    rateLimited: [],
    sessions: new Map(),
    sockets: new Set(),
    closedByServer: new WeakSet(),
    faults: [],
    rateLimits: { ...DEFAULT_RATE_LIMITS, ...options.rateLimits },
    buckets: new Map(),
    channelWebhookMessageTimes: new Map(),
  };
}

/** `http://127.0.0.1:PORT`: where attachments are served. */
export function baseUrl(state: EmulatorState): string {
  return `http://127.0.0.1:${state.port}`;
}

/** `ws://127.0.0.1:PORT`: the gateway (and `resume_gateway_url`). */
export function gatewayUrl(state: EmulatorState): string {
  return `ws://127.0.0.1:${state.port}`;
}

/** A real snowflake (discord.js sorts by `BigInt(id)`); the low 22 bits count ids within a millisecond. */
export function snowflake(state: Pick<EmulatorState, 'lastSnowflake'>): string {
  let id = (BigInt(Date.now()) - DISCORD_EPOCH) << 22n;
  if (id <= state.lastSnowflake) id = state.lastSnowflake + 1n;
  state.lastSnowflake = id;
  return id.toString();
}

/** The shard that receives a server's events: `(guild_id >> 22) % num_shards` (Discord's rule). */
export function shardOf(guildId: string, shardCount: number): number {
  return Number((BigInt(guildId) >> 22n) % BigInt(shardCount));
}

/**
 * A server's snowflake, landing in shard `shard[0]` of `shard[1]` when asked: its timestamp is
 * moved on a few milliseconds until it does (ids stay increasing).
 */
export function guildSnowflake(
  state: Pick<EmulatorState, 'lastSnowflake'>,
  shard?: [number, number],
): string {
  if (!shard) return snowflake(state);
  const [id, count] = shard;
  let time = BigInt(Date.now()) - DISCORD_EPOCH;
  if (time <= state.lastSnowflake >> 22n) time = (state.lastSnowflake >> 22n) + 1n;
  while (Number(time % BigInt(count)) !== id) time += 1n;
  state.lastSnowflake = time << 22n;
  return state.lastSnowflake.toString();
}

/** The server a guild channel or thread belongs to (a DM belongs to none: the first server stands in). */
export function guildOf(state: EmulatorState, channel: ChannelState): GuildState {
  return requireGuild(state, channel.guildId ?? state.guildId);
}

// Lookups that throw a plain Error (a test or the emulator used an id that does not exist); routes
// answer Discord's 404s themselves.

export function requireUser(state: EmulatorState, userId: string): EmulatedUser {
  const user = state.users.get(userId);
  if (!user) throw new Error(`unknown user ${userId}`);
  return user;
}

export function requireGuild(state: EmulatorState, guildId: string): GuildState {
  const guild = state.guilds.get(guildId);
  if (!guild) throw new Error(`unknown guild ${guildId}`);
  return guild;
}

export function requireMember(state: EmulatorState, userId: string): MemberState {
  const member = state.members.get(userId);
  if (!member) throw new Error(`unknown member ${userId}`);
  return member;
}

export function requireChannel(state: EmulatorState, channelId: string): ChannelState {
  const channel = state.channels.get(channelId);
  if (!channel) throw new Error(`unknown channel ${channelId}`);
  return channel;
}

/** A test's `ChannelOverwrite` as stored: its type inferred from the id when absent, the id checked. */
export function overwriteState(state: EmulatorState, overwrite: ChannelOverwrite): OverwriteState {
  const type = overwrite.type ?? (state.roles.has(overwrite.id) ? 0 : 1);
  if (type === 0 && !state.roles.has(overwrite.id))
    throw new Error(`overwrite: unknown role ${overwrite.id}`);
  if (type === 1 && !state.members.has(overwrite.id))
    throw new Error(`overwrite: unknown member ${overwrite.id}`);
  return { id: overwrite.id, type, allow: overwrite.allow ?? 0n, deny: overwrite.deny ?? 0n };
}

/** A guild text channel, the only kind with overwrites of its own (threads follow their parent's). */
export function requireOverwritable(state: EmulatorState, channelId: string, action: string): ChannelState {
  const channel = requireChannel(state, channelId);
  if (channel.type !== ChannelType.GuildText) {
    throw new Error(`${action}: ${channelId} is not a guild text channel (threads follow their parent)`);
  }
  return channel;
}

/** The DM channel between the bot and a user, made on first use. */
export function dmChannelFor(state: EmulatorState, userId: string): ChannelState {
  const existing = state.dmChannelByUser.get(userId);
  if (existing) return requireChannel(state, existing);
  const channel: ChannelState = {
    id: snowflake(state),
    type: ChannelType.DM,
    name: '',
    recipientId: userId,
    position: 0,
    messageCount: 0,
    totalMessageSent: 0,
    overwrites: [],
  };
  state.channels.set(channel.id, channel);
  state.channelMessages.set(channel.id, []);
  state.dmChannelByUser.set(userId, channel.id);
  return channel;
}

/** A message by id in any channel, or an ephemeral interaction message. */
export function findMessage(state: EmulatorState, messageId: string): EmulatedMessage | undefined {
  const ephemeral = state.ephemeralMessages.get(messageId);
  if (ephemeral) return ephemeral;
  for (const list of state.channelMessages.values()) {
    const found = list.find((message) => message.id === messageId);
    if (found) return found;
  }
  return undefined;
}

/** A message of this channel; 404 10008 Unknown Message otherwise. */
export function findChannelMessage(
  state: EmulatorState,
  channelId: string,
  messageId: string,
): EmulatedMessage {
  const found = state.channelMessages.get(channelId)?.find((message) => message.id === messageId);
  if (!found) throw unknownMessage();
  return found;
}
