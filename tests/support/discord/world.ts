/**
 * Building the world a test needs: channels, roles, members, overwrites, the bot's permissions,
 * archived threads and webhooks made by someone else, each change dispatched as Discord would.
 * The `DiscordEmulator` methods of the same names call these.
 */

import { ChannelType, Intent } from './constants.ts';
import { dispatch } from './gateway.ts';
import type { ChannelState, EmulatorState, RoleState, WebhookState } from './model.ts';
import { channelPayload, memberPayload, rolePayload, webhookSummary } from './payloads.ts';
import { Permission } from './permissions.ts';
import { overwriteState, requireChannel, requireMember, requireOverwritable, snowflake } from './state.ts';
import type { ChannelOverwrite, EmulatedUser, EmulatedWebhook } from './types.ts';
import { nowIso, randomToken } from './util.ts';

/** Adds the guild owner and the default channel ('general'), then lets events flow. */
export function populateWorld(state: EmulatorState): void {
  state.ownerId = createUser(state, 'owner');
  state.channelId = createChannel(state, 'general');
  state.building = false;
}

/** Another guild text channel, optionally with permission overwrites; dispatches CHANNEL_CREATE. */
export function createChannel(
  state: EmulatorState,
  name: string,
  options: { overwrites?: ChannelOverwrite[] } = {},
): string {
  const id = snowflake(state);
  const channel: ChannelState = {
    id,
    type: ChannelType.GuildText,
    name,
    guildId: state.guildId,
    position: [...state.channels.values()].filter((c) => c.type === ChannelType.GuildText).length,
    messageCount: 0,
    totalMessageSent: 0,
    overwrites: (options.overwrites ?? []).map((overwrite) => overwriteState(state, overwrite)),
  };
  state.channels.set(id, channel);
  state.channelMessages.set(id, []);
  dispatch(state, 'CHANNEL_CREATE', channelPayload(state, channel), Intent.Guilds);
  return id;
}

/** A role with these permissions; dispatches GUILD_ROLE_CREATE. */
export function createRole(
  state: EmulatorState,
  name: string,
  options: { permissions?: bigint } = {},
): string {
  const id = snowflake(state);
  const role: RoleState = {
    id,
    name,
    permissions: options.permissions ?? 0n,
    position: state.roles.size,
    managed: false,
  };
  state.roles.set(id, role);
  dispatch(state, 'GUILD_ROLE_CREATE', { guild_id: state.guildId, role: rolePayload(role) }, Intent.Guilds);
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
  const roles = [state.memberRoleId, ...(options.roles ?? []).filter((role) => role !== state.memberRoleId)];
  state.members.set(id, { userId: id, roles, joinedAt: nowIso() });
  dispatch(
    state,
    'GUILD_MEMBER_ADD',
    { guild_id: state.guildId, ...memberPayload(state, id) },
    Intent.GuildMembers,
  );
  return id;
}

/** Gives a member more roles (GUILD_MEMBER_UPDATE). */
export function addRole(state: EmulatorState, userId: string, roleId: string): void {
  const member = requireMember(state, userId);
  if (!state.roles.has(roleId)) throw new Error(`addRole: unknown role ${roleId}`);
  if (!member.roles.includes(roleId)) member.roles.push(roleId);
  dispatch(
    state,
    'GUILD_MEMBER_UPDATE',
    { guild_id: state.guildId, ...memberPayload(state, userId) },
    Intent.GuildMembers,
  );
}

/** Takes a role from a member (GUILD_MEMBER_UPDATE); taking `memberRoleId` leaves them no default rights. */
export function removeRole(state: EmulatorState, userId: string, roleId: string): void {
  const member = requireMember(state, userId);
  member.roles = member.roles.filter((role) => role !== roleId);
  dispatch(
    state,
    'GUILD_MEMBER_UPDATE',
    { guild_id: state.guildId, ...memberPayload(state, userId) },
    Intent.GuildMembers,
  );
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
export function setBotPermissions(state: EmulatorState, permissions: bigint): void {
  const role = state.roles.get(state.botRoleId)!;
  role.permissions = permissions;
  dispatch(state, 'GUILD_ROLE_UPDATE', { guild_id: state.guildId, role: rolePayload(role) }, Intent.Guilds);
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
    { guild_id: state.guildId, channel_id: webhook.channelId },
    Intent.GuildWebhooks,
  );
}
