/**
 * Building the world a test needs: channels, roles, members, overwrites, the bot's permissions,
 * archived threads and webhooks made by someone else, each change dispatched as Discord would.
 * The `DiscordEmulator` methods of the same names call these.
 */

import { ChannelType, Intent } from './constants.ts';
import { dispatch } from './gateway.ts';
import type { ChannelState, EmulatorState, RoleState, WebhookState } from './model.ts';
import {
  channelPayload,
  guildCreatePayload,
  memberPayload,
  rolePayload,
  webhookSummary,
} from './payloads.ts';
import { DEFAULT_BOT_PERMISSIONS, DEFAULT_MEMBER_PERMISSIONS, Permission } from './permissions.ts';
import {
  guildSnowflake,
  overwriteState,
  requireChannel,
  requireGuild,
  requireMember,
  requireOverwritable,
  snowflake,
} from './state.ts';
import type { ChannelOverwrite, EmulatedGuild, EmulatedUser, EmulatedWebhook } from './types.ts';
import { nowIso, randomToken } from './util.ts';

/** Adds the guild owner and the default channel ('general'), then lets events flow. */
export function populateWorld(state: EmulatorState): void {
  state.ownerId = createUser(state, 'owner');
  state.channelId = createChannel(state, 'general');
  state.building = false;
}

/**
 * Another server, its id in shard `shard[0]` of `shard[1]` when asked: its @everyone role (granting
 * what the first server's does), a `member` role every user gets, the bot's role, and a 'general'
 * channel. GUILD_CREATE to the sessions of its shard, as when the bot is added to a server.
 */
export function createGuild(
  state: EmulatorState,
  name: string,
  options: { shard?: [number, number] } = {},
): EmulatedGuild {
  const id = guildSnowflake(state, options.shard);
  const role = (roleId: string, fields: Partial<RoleState>): RoleState => ({
    id: roleId,
    guildId: id,
    name,
    permissions: 0n,
    position: 0,
    managed: false,
    ...fields,
  });
  const everyone = state.roles.get(state.guildId)?.permissions ?? 0n;
  const memberRoleId = snowflake(state);
  const botRoleId = snowflake(state);
  state.roles.set(id, role(id, { name: '@everyone', permissions: everyone }));
  state.roles.set(
    memberRoleId,
    role(memberRoleId, { name: 'member', permissions: DEFAULT_MEMBER_PERMISSIONS, position: 1 }),
  );
  state.roles.set(
    botRoleId,
    role(botRoleId, {
      name: 'emulated-bot',
      permissions: DEFAULT_BOT_PERMISSIONS,
      position: 2,
      managed: true,
      botId: state.botUserId,
    }),
  );
  state.guilds.set(id, { id, name, memberRoleId, botRoleId });
  for (const member of state.members.values()) {
    member.roles.push(member.userId === state.botUserId ? botRoleId : memberRoleId);
  }
  const building = state.building;
  state.building = true;
  const channelId = createChannel(state, 'general', { guildId: id });
  state.building = building;
  dispatch(state, 'GUILD_CREATE', guildCreatePayload(state, id), Intent.Guilds, id);
  return { id, channelId, memberRoleId, botRoleId };
}

/** Another guild text channel (of the first server unless told), optionally with permission overwrites; CHANNEL_CREATE. */
export function createChannel(
  state: EmulatorState,
  name: string,
  options: { overwrites?: ChannelOverwrite[]; guildId?: string } = {},
): string {
  const id = snowflake(state);
  const guildId = requireGuild(state, options.guildId ?? state.guildId).id;
  const channel: ChannelState = {
    id,
    type: ChannelType.GuildText,
    name,
    guildId,
    position: [...state.channels.values()].filter(
      (c) => c.type === ChannelType.GuildText && c.guildId === guildId,
    ).length,
    messageCount: 0,
    totalMessageSent: 0,
    overwrites: (options.overwrites ?? []).map((overwrite) => overwriteState(state, overwrite)),
  };
  state.channels.set(id, channel);
  state.channelMessages.set(id, []);
  dispatch(state, 'CHANNEL_CREATE', channelPayload(state, channel), Intent.Guilds);
  return id;
}

/** A role with these permissions (in the first server unless told); dispatches GUILD_ROLE_CREATE. */
export function createRole(
  state: EmulatorState,
  name: string,
  options: { permissions?: bigint; guildId?: string } = {},
): string {
  const id = snowflake(state);
  const guildId = requireGuild(state, options.guildId ?? state.guildId).id;
  const role: RoleState = {
    id,
    guildId,
    name,
    permissions: options.permissions ?? 0n,
    position: state.roles.size,
    managed: false,
  };
  state.roles.set(id, role);
  dispatch(state, 'GUILD_ROLE_CREATE', { guild_id: guildId, role: rolePayload(role) }, Intent.Guilds);
  return id;
}

/**
 * A guild member (and a user) with the `member` role (`memberRoleId`) plus `roles`. Dispatches
 * GUILD_MEMBER_ADD to sessions with the GuildMembers intent.
 */
export function createUser(
  state: EmulatorState,
  username: string,
  options: { roles?: string[]; bot?: boolean } = {},
): string {
  const id = snowflake(state);
  for (const role of options.roles ?? []) {
    if (!state.roles.has(role)) throw new Error(`createUser: unknown role ${role}`);
  }
  const user: EmulatedUser = { id, username, discriminator: '0', global_name: username, avatar: null };
  if (options.bot) user.bot = true;
  state.users.set(id, user);
  const everywhere = [...state.guilds.values()].map((guild) => guild.memberRoleId);
  const roles = [...everywhere, ...(options.roles ?? []).filter((role) => !everywhere.includes(role))];
  state.members.set(id, { userId: id, roles, joinedAt: nowIso() });
  for (const guildId of state.guilds.keys()) {
    dispatch(
      state,
      'GUILD_MEMBER_ADD',
      { guild_id: guildId, ...memberPayload(state, id, guildId) },
      Intent.GuildMembers,
    );
  }
  return id;
}

/** GUILD_MEMBER_UPDATE in the server a role belongs to. */
function memberUpdated(state: EmulatorState, userId: string, roleId: string): void {
  const guildId = state.roles.get(roleId)?.guildId ?? state.guildId;
  dispatch(
    state,
    'GUILD_MEMBER_UPDATE',
    { guild_id: guildId, ...memberPayload(state, userId, guildId) },
    Intent.GuildMembers,
  );
}

/** Gives a member more roles (GUILD_MEMBER_UPDATE). */
export function addRole(state: EmulatorState, userId: string, roleId: string): void {
  const member = requireMember(state, userId);
  if (!state.roles.has(roleId)) throw new Error(`addRole: unknown role ${roleId}`);
  if (!member.roles.includes(roleId)) member.roles.push(roleId);
  memberUpdated(state, userId, roleId);
}

/** Takes a role from a member (GUILD_MEMBER_UPDATE); taking `memberRoleId` leaves them no default rights. */
export function removeRole(state: EmulatorState, userId: string, roleId: string): void {
  const member = requireMember(state, userId);
  member.roles = member.roles.filter((role) => role !== roleId);
  memberUpdated(state, userId, roleId);
}

/**
 * Replaces a guild text channel's permission overwrites; dispatches CHANNEL_UPDATE so discord.js's
 * `channel.permissionsFor(member)` sees them. Threads follow their parent's.
 */
export function setChannelOverwrites(
  state: EmulatorState,
  channelId: string,
  overwrites: ChannelOverwrite[],
): void {
  const channel = requireOverwritable(state, channelId, 'setChannelOverwrites');
  channel.overwrites = overwrites.map((overwrite) => overwriteState(state, overwrite));
  dispatch(state, 'CHANNEL_UPDATE', channelPayload(state, channel), Intent.Guilds);
}

/**
 * Sets the overwrite for one role or member (an `allow` and `deny` of 0 removes it); dispatches
 * CHANNEL_UPDATE.
 */
export function setChannelOverwrite(
  state: EmulatorState,
  channelId: string,
  targetId: string,
  bits: { allow?: bigint; deny?: bigint },
): void {
  const channel = requireOverwritable(state, channelId, 'setChannelOverwrite');
  const next = overwriteState(state, { id: targetId, ...bits });
  const others = channel.overwrites.filter((overwrite) => overwrite.id !== targetId);
  channel.overwrites = next.allow === 0n && next.deny === 0n ? others : [...others, next];
  dispatch(state, 'CHANNEL_UPDATE', channelPayload(state, channel), Intent.Guilds);
}

/**
 * Denies View Channel in a channel (and its threads) to a member or a role, keeping the rest of
 * that overwrite. Hiding it from @everyone (the guild id) hides it from the bot too, as on
 * Discord: allow it back with `setChannelOverwrite(channelId, botUserId, { allow: ViewChannel })`.
 */
export function hideChannelFrom(state: EmulatorState, channelId: string, userOrRoleId: string): void {
  const channel = requireOverwritable(state, channelId, 'hideChannelFrom');
  const current = channel.overwrites.find((overwrite) => overwrite.id === userOrRoleId);
  setChannelOverwrite(state, channelId, userOrRoleId, {
    allow: (current?.allow ?? 0n) & ~Permission.ViewChannel,
    deny: (current?.deny ?? 0n) | Permission.ViewChannel,
  });
}

/**
 * The bot's permissions in the guild (its managed role's bitfield; @everyone grants nothing).
 * Dispatches GUILD_ROLE_UPDATE so discord.js sees the change.
 */
export function setBotPermissions(state: EmulatorState, permissions: bigint, guildId = state.guildId): void {
  const role = state.roles.get(requireGuild(state, guildId).botRoleId)!;
  role.permissions = permissions;
  dispatch(state, 'GUILD_ROLE_UPDATE', { guild_id: guildId, role: rolePayload(role) }, Intent.Guilds);
}

/**
 * Archives (and optionally locks) a thread, as Discord's auto-archive does; `at` sets its
 * `archive_timestamp` (default now).
 */
export function archiveThread(
  state: EmulatorState,
  threadId: string,
  options: { locked?: boolean; at?: Date } = {},
): void {
  const thread = state.channels.get(threadId);
  if (!thread?.thread) throw new Error(`archiveThread: ${threadId} is not a thread`);
  thread.thread.archived = true;
  thread.thread.archiveTimestamp = (options.at ?? new Date()).toISOString();
  if (options.locked !== undefined) thread.thread.locked = options.locked;
  dispatch(state, 'THREAD_UPDATE', channelPayload(state, thread), Intent.Guilds);
}

/** A webhook somebody else (not the bot's application) created in a channel. */
export function createUserWebhook(state: EmulatorState, channelId: string, name: string): EmulatedWebhook {
  const channel = requireChannel(state, channelId);
  const webhook: WebhookState = {
    id: snowflake(state),
    token: randomToken(51),
    channelId: channel.id,
    name,
    avatar: null,
    applicationId: null,
    creatorId: state.ownerId,
  };
  state.webhookStates.set(webhook.id, webhook);
  return webhookSummary(webhook);
}

/** Deletes a webhook as if a moderator did; later executes answer 404 10015 Unknown Webhook. */
export function deleteWebhook(state: EmulatorState, id: string): void {
  const webhook = state.webhookStates.get(id);
  if (!webhook) throw new Error(`deleteWebhook: unknown webhook ${id}`);
  state.webhookStates.delete(id);
  dispatch(
    state,
    'WEBHOOKS_UPDATE',
    {
      guild_id: state.channels.get(webhook.channelId)?.guildId ?? state.guildId,
      channel_id: webhook.channelId,
    },
    Intent.GuildWebhooks,
  );
}
