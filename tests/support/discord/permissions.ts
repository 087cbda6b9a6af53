/**
 * Permissions as Discord computes them: the permission bits, what the bot and a member start with,
 * guild-level permissions from roles, channel permissions from overwrites, and the guards routes
 * (403 Missing Access / Missing Permissions) and driver actions (a thrown Error) apply.
 */

import { ChannelType } from './constants.ts';
import type { ChannelState, EmulatorState } from './model.ts';
import { missingAccess, missingPermissions } from './results.ts';

/** Permission bits (same values as discord.js `PermissionFlagsBits`). */
export const Permission = {
  Administrator: 1n << 3n,
  ManageChannels: 1n << 4n,
  AddReactions: 1n << 6n,
  ViewChannel: 1n << 10n,
  SendMessages: 1n << 11n,
  ManageMessages: 1n << 13n,
  EmbedLinks: 1n << 14n,
  AttachFiles: 1n << 15n,
  ReadMessageHistory: 1n << 16n,
  MentionEveryone: 1n << 17n,
  ManageRoles: 1n << 28n,
  ManageWebhooks: 1n << 29n,
  UseApplicationCommands: 1n << 31n,
  ManageThreads: 1n << 34n,
  CreatePublicThreads: 1n << 35n,
  CreatePrivateThreads: 1n << 36n,
  SendMessagesInThreads: 1n << 38n,
} as const;

/** What the bot needs (docs/DISCORD.md, "Needed permissions"), plus reactions and commands. */
export const DEFAULT_BOT_PERMISSIONS =
  Permission.ViewChannel |
  Permission.SendMessages |
  Permission.SendMessagesInThreads |
  Permission.CreatePublicThreads |
  Permission.ManageWebhooks |
  Permission.EmbedLinks |
  Permission.AttachFiles |
  Permission.ReadMessageHistory |
  Permission.AddReactions |
  Permission.UseApplicationCommands;

/** What the `member` role every created user has grants (the usual @everyone rights). */
export const DEFAULT_MEMBER_PERMISSIONS =
  Permission.ViewChannel |
  Permission.SendMessages |
  Permission.SendMessagesInThreads |
  Permission.CreatePublicThreads |
  Permission.CreatePrivateThreads |
  Permission.EmbedLinks |
  Permission.AttachFiles |
  Permission.ReadMessageHistory |
  Permission.AddReactions |
  Permission.UseApplicationCommands;

/** Every permission bit: what the guild owner and an Administrator have. */
export const ALL_PERMISSIONS = (1n << 51n) - 1n;

/** Whether `granted` includes `needed` (Administrator includes everything). */
export function hasPermission(granted: bigint, needed: bigint): boolean {
  return (granted & Permission.Administrator) !== 0n || (granted & needed) === needed;
}

/**
 * Guild-level permissions in a server (the first by default): its @everyone and the member's
 * roles there; owner and Administrator get all.
 */
export function permissionsOf(state: EmulatorState, userId: string, guildId = state.guildId): bigint {
  if (userId === state.ownerId) return ALL_PERMISSIONS;
  const member = state.members.get(userId);
  if (!member) return 0n;
  let permissions = state.roles.get(guildId)?.permissions ?? 0n;
  for (const roleId of member.roles) {
    const role = state.roles.get(roleId);
    if (role?.guildId === guildId) permissions |= role.permissions;
  }
  return (permissions & Permission.Administrator) !== 0n ? ALL_PERMISSIONS : permissions;
}

/**
 * Discord's channel permissions: the guild-level ones, then the @everyone overwrite, then the
 * member's role overwrites together, then the member's own; deny before allow at each step. A
 * thread has its parent's, except that a private thread is seen only by its members and by those
 * who may manage threads there (no View Channel for anyone else). Other implicit denials (nothing
 * without View Channel) are left to the callers, as discord.js's `permissionsFor` leaves them.
 */
export function permissionsIn(state: EmulatorState, userId: string, channel: ChannelState): bigint {
  const permissions = overwritten(state, userId, channel);
  const outsider =
    channel.type === ChannelType.PrivateThread &&
    !channel.members?.has(userId) &&
    !hasPermission(permissions, Permission.ManageThreads);
  return outsider ? permissions & ~Permission.ViewChannel : permissions;
}

/** The guild-level permissions with the overwrites of the channel (a thread: of its parent) applied. */
function overwritten(state: EmulatorState, userId: string, channel: ChannelState): bigint {
  if (channel.type === ChannelType.DM) return ALL_PERMISSIONS;
  const source = channel.thread && channel.parentId ? state.channels.get(channel.parentId) : channel;
  const guildId = channel.guildId ?? state.guildId;
  let permissions = permissionsOf(state, userId, guildId);
  if (permissions === ALL_PERMISSIONS || !source) return permissions;
  const apply = (allow: bigint, deny: bigint) => {
    permissions = (permissions & ~deny) | allow;
  };
  const everyone = source.overwrites.find((overwrite) => overwrite.id === guildId);
  if (everyone) apply(everyone.allow, everyone.deny);
  const roles = new Set(state.members.get(userId)?.roles ?? []);
  let allow = 0n;
  let deny = 0n;
  for (const overwrite of source.overwrites) {
    if (overwrite.type !== 0 || overwrite.id === guildId || !roles.has(overwrite.id)) continue;
    allow |= overwrite.allow;
    deny |= overwrite.deny;
  }
  apply(allow, deny);
  const own = source.overwrites.find((overwrite) => overwrite.type === 1 && overwrite.id === userId);
  if (own) apply(own.allow, own.deny);
  return permissions;
}

/** The bot's guild-level permissions in a server (roles only; `permissionsIn` adds a channel's overwrites). */
export function botPermissions(state: EmulatorState, guildId = state.guildId): bigint {
  return permissionsOf(state, state.botUserId, guildId);
}

/** Whether the bot can see the channel and has `needed` there. */
export function botCan(state: EmulatorState, channel: ChannelState, needed: bigint): boolean {
  const permissions = permissionsIn(state, state.botUserId, channel);
  return hasPermission(permissions, Permission.ViewChannel) && hasPermission(permissions, needed);
}

/** Route guard: 403 50001 Missing Access without View Channel, 50013 Missing Permissions without `needed`. */
export function requireBotPermission(state: EmulatorState, channel: ChannelState, needed: bigint): void {
  if (channel.type === ChannelType.DM) return;
  const permissions = permissionsIn(state, state.botUserId, channel);
  if (!hasPermission(permissions, Permission.ViewChannel)) throw missingAccess();
  if (!hasPermission(permissions, needed)) throw missingPermissions();
}

/** Driver guard: a member cannot act where they cannot see (or lack `needed`). */
export function requireMemberCan(
  state: EmulatorState,
  action: string,
  userId: string,
  channel: ChannelState,
  needed: bigint,
): void {
  if (channel.type === ChannelType.DM) return;
  const permissions = permissionsIn(state, userId, channel);
  const missing = Object.entries(Permission)
    .filter(([, bit]) => (needed | Permission.ViewChannel) & bit)
    .filter(([, bit]) => !hasPermission(permissions, bit))
    .map(([name]) => name);
  if (missing.length > 0) {
    const who = state.users.get(userId)?.username ?? userId;
    throw new Error(`${action}: ${who} lacks ${missing.join(', ')} in #${channel.name} (${channel.id})`);
  }
}
