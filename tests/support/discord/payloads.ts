/**
 * Discord's JSON for the emulator's state: roles, members, channels and threads, the guild (REST
 * and GUILD_CREATE), messages (REST, gateway, and blanked without Message Content), webhooks and
 * application commands.
 */

import { ChannelType } from './constants.ts';
import type {
  ChannelState,
  CommandState,
  EmulatorState,
  JsonObject,
  RoleState,
  WebhookState,
} from './model.ts';
import { requireGuild, requireMember, requireUser } from './state.ts';
import type { EmulatedMessage, EmulatedWebhook } from './types.ts';

export function rolePayload(role: RoleState): JsonObject {
  const payload: JsonObject = {
    id: role.id,
    name: role.name,
    color: 0,
    hoist: false,
    position: role.position,
    permissions: role.permissions.toString(),
    managed: role.managed,
    mentionable: false,
    flags: 0,
  };
  if (role.botId) payload.tags = { bot_id: role.botId };
  return payload;
}

/** A member as one server (the first by default) sees them: with their roles there. */
export function memberPayload(state: EmulatorState, userId: string, guildId = state.guildId): JsonObject {
  const member = requireMember(state, userId);
  return {
    user: requireUser(state, userId),
    roles: member.roles.filter((id) => state.roles.get(id)?.guildId === guildId),
    joined_at: member.joinedAt,
    deaf: false,
    mute: false,
    flags: 0,
  };
}

/** A channel as Discord sends it: a DM, a thread (with its metadata) or a text channel (with its overwrites). */
export function channelPayload(state: EmulatorState, channel: ChannelState): JsonObject {
  if (channel.type === ChannelType.DM) {
    const payload: JsonObject = {
      id: channel.id,
      type: channel.type,
      recipients: channel.recipientId ? [requireUser(state, channel.recipientId)] : [],
      flags: 0,
    };
    if (channel.lastMessageId) payload.last_message_id = channel.lastMessageId;
    return payload;
  }
  const payload: JsonObject = {
    id: channel.id,
    type: channel.type,
    guild_id: channel.guildId,
    name: channel.name,
    rate_limit_per_user: 0,
    flags: 0,
  };
  if (channel.lastMessageId) payload.last_message_id = channel.lastMessageId;
  if (channel.thread) {
    payload.parent_id = channel.parentId;
    payload.owner_id = channel.ownerId;
    payload.message_count = channel.messageCount;
    payload.total_message_sent = channel.totalMessageSent;
    payload.member_count = Math.min(channel.members?.size ?? 1, 50);
    payload.thread_metadata = {
      archived: channel.thread.archived,
      auto_archive_duration: channel.thread.autoArchiveDuration,
      archive_timestamp: channel.thread.archiveTimestamp,
      locked: channel.thread.locked,
      create_timestamp: channel.thread.createTimestamp,
      ...(channel.type === ChannelType.PrivateThread ? { invitable: true } : {}),
    };
  } else {
    payload.position = channel.position;
    payload.permission_overwrites = channel.overwrites.map((overwrite) => ({
      id: overwrite.id,
      type: overwrite.type,
      allow: overwrite.allow.toString(),
      deny: overwrite.deny.toString(),
    }));
    payload.nsfw = false;
  }
  return payload;
}

export function guildPayload(state: EmulatorState, guildId = state.guildId): JsonObject {
  const guild = requireGuild(state, guildId);
  return {
    id: guild.id,
    name: guild.name,
    icon: null,
    owner_id: state.ownerId,
    afk_timeout: 300,
    verification_level: 0,
    default_message_notifications: 1,
    explicit_content_filter: 0,
    mfa_level: 0,
    nsfw_level: 0,
    premium_tier: 0,
    premium_progress_bar_enabled: false,
    system_channel_flags: 0,
    preferred_locale: 'en-US',
    features: [],
    emojis: [],
    stickers: [],
    roles: [...state.roles.values()]
      .filter((role) => role.guildId === guildId)
      .map((role) => rolePayload(role)),
  };
}

/** GUILD_CREATE: a server with its members, text channels and active threads. */
export function guildCreatePayload(state: EmulatorState, guildId = state.guildId): JsonObject {
  const channels = [...state.channels.values()].filter((channel) => channel.guildId === guildId);
  return {
    ...guildPayload(state, guildId),
    unavailable: false,
    large: false,
    joined_at: state.members.get(state.botUserId)?.joinedAt,
    member_count: state.members.size,
    members: [...state.members.keys()].map((id) => memberPayload(state, id, guildId)),
    channels: channels.filter((c) => c.type === ChannelType.GuildText).map((c) => channelPayload(state, c)),
    threads: channels.filter((c) => c.thread && !c.thread.archived).map((c) => channelPayload(state, c)),
    voice_states: [],
    presences: [],
    stage_instances: [],
    guild_scheduled_events: [],
    soundboard_sounds: [],
  };
}

/** A message as REST returns it (without the test-only fields). */
export function restMessage(message: EmulatedMessage): JsonObject {
  const { allowed_mentions: _allowed, avatar_url: _avatar, ...wire } = message;
  return structuredClone(wire);
}

/** A message as the gateway dispatches it: with guild `member` data for the author and mentions. */
export function gatewayMessage(state: EmulatorState, message: EmulatedMessage): JsonObject {
  const wire = restMessage(message);
  const channelType = state.channels.get(message.channel_id)?.type;
  if (channelType !== undefined) wire.channel_type = channelType;
  if (!message.guild_id) return wire;
  if (!message.webhook_id && state.members.has(message.author.id)) {
    const { user: _user, ...member } = memberPayload(state, message.author.id, message.guild_id);
    wire.member = member;
  }
  wire.mentions = message.mentions.map((user) => {
    if (!state.members.has(user.id)) return user;
    const { user: _user, ...member } = memberPayload(state, user.id, message.guild_id);
    return { ...user, member };
  });
  return wire;
}

/** A message as REST returns it to the bot: blanked where the Message Content rule hides it. */
export function messageForRest(state: EmulatorState, message: EmulatedMessage): JsonObject {
  const wire = restMessage(message);
  return state.messageContentIntent || canSeeContent(state, message, false) ? wire : blanked(wire);
}

/** Discord's Message Content rule: own messages, DMs and messages mentioning the bot are exempt. */
export function canSeeContent(state: EmulatorState, message: EmulatedMessage, requested: boolean): boolean {
  if (state.messageContentIntent && requested) return true;
  return (
    message.author.id === state.botUserId ||
    message.guild_id === undefined ||
    message.mentions.some((user) => user.id === state.botUserId)
  );
}

/** Thread member objects for the bot in the threads it has joined. */
export function botThreadMembers(state: EmulatorState, threads: ChannelState[]): JsonObject[] {
  return threads.flatMap((thread) => {
    const joined = thread.members?.get(state.botUserId);
    return joined ? [{ id: thread.id, user_id: state.botUserId, join_timestamp: joined, flags: 0 }] : [];
  });
}

export function webhookPayload(state: EmulatorState, webhook: WebhookState, withToken: boolean): JsonObject {
  const payload: JsonObject = {
    id: webhook.id,
    type: 1,
    guild_id: state.channels.get(webhook.channelId)?.guildId ?? state.guildId,
    channel_id: webhook.channelId,
    name: webhook.name,
    avatar: webhook.avatar,
    application_id: webhook.applicationId,
    user: state.users.get(webhook.creatorId),
  };
  if (withToken) payload.token = webhook.token;
  return payload;
}

export function webhookSummary(webhook: WebhookState): EmulatedWebhook {
  return {
    id: webhook.id,
    token: webhook.token,
    channel_id: webhook.channelId,
    name: webhook.name,
    application_id: webhook.applicationId,
  };
}

/** A thread as `DiscordEmulator.threads()` lists it. */
export function threadSummary(channel: ChannelState): {
  id: string;
  name: string;
  parent_id: string;
  owner_id: string;
  archived: boolean;
} {
  return {
    id: channel.id,
    name: channel.name,
    parent_id: channel.parentId ?? '',
    owner_id: channel.ownerId ?? '',
    archived: channel.thread?.archived ?? false,
  };
}

export function commandPayload(state: EmulatorState, command: CommandState): JsonObject {
  const payload: JsonObject = {
    type: 1,
    description: '',
    default_member_permissions: null,
    nsfw: false,
    ...command.body,
    id: command.id,
    application_id: state.applicationId,
    version: command.id,
  };
  if (command.guildId) payload.guild_id = command.guildId;
  return payload;
}

/** What a client without the Message Content intent sees of someone else's message. */
export function blanked(wire: JsonObject): JsonObject {
  return { ...wire, content: '', embeds: [], attachments: [], components: [] };
}
