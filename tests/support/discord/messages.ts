/**
 * Messages as Discord stores them: creating one (replies, mentions as `allowed_mentions` allows,
 * attachments, thread counters, MESSAGE_CREATE), editing one (MESSAGE_UPDATE, the `edits()` log)
 * and deleting one (MESSAGE_DELETE). Used by the REST routes and the driver alike.
 */

import { attachmentsFor } from './attachments.ts';
import { ChannelType, Intent, MessageFlag, MessageType } from './constants.ts';
import { dispatch, dispatchMessage } from './gateway.ts';
import type { ChannelState, EmulatorState, JsonObject, OutgoingMessage, UploadedFile } from './model.ts';
import { channelPayload } from './payloads.ts';
import { botPermissions, hasPermission, Permission, permissionsIn } from './permissions.ts';
import { ApiError } from './results.ts';
import { requireUser, snowflake } from './state.ts';
import type { EmulatedMessage, EmulatedUser } from './types.ts';
import { nowIso } from './util.ts';
import { FormErrors, readOutgoing, validateOutgoing } from './validation.ts';

/** Fills `mentions`, `mention_roles` and `mention_everyone` as Discord does, honouring allowed_mentions. */
function resolveMentions(
  state: EmulatorState,
  content: string,
  allowed: JsonObject | undefined,
  author: { isBot: boolean; isWebhook: boolean },
  referenced: EmulatedMessage | undefined,
  channel: ChannelState | undefined,
): Pick<EmulatedMessage, 'mentions' | 'mention_roles' | 'mention_everyone'> {
  const userIds = [...new Set([...content.matchAll(/<@!?(\d{17,20})>/g)].map((match) => match[1] ?? ''))];
  const roleIds = [...new Set([...content.matchAll(/<@&(\d{17,20})>/g)].map((match) => match[1] ?? ''))];
  let everyone = /@(everyone|here)\b/.test(content);
  let users = userIds.filter((id) => state.users.has(id));
  let roles = roleIds.filter((id) => state.roles.has(id));
  let repliedUser = true;
  if (allowed) {
    const parse = Array.isArray(allowed.parse) ? allowed.parse : [];
    const allowedUsers = Array.isArray(allowed.users) ? allowed.users.map(String) : [];
    const allowedRoles = Array.isArray(allowed.roles) ? allowed.roles.map(String) : [];
    if (!parse.includes('users')) users = users.filter((id) => allowedUsers.includes(id));
    if (!parse.includes('roles')) roles = roles.filter((id) => allowedRoles.includes(id));
    if (!parse.includes('everyone')) everyone = false;
    repliedUser = allowed.replied_user === true;
  }
  if (
    author.isBot &&
    !author.isWebhook &&
    !hasPermission(
      channel ? permissionsIn(state, state.botUserId, channel) : botPermissions(state),
      Permission.MentionEveryone,
    )
  ) {
    everyone = false;
  }
  if (
    referenced &&
    repliedUser &&
    !users.includes(referenced.author.id) &&
    state.users.has(referenced.author.id)
  ) {
    users.push(referenced.author.id);
  }
  return {
    mentions: users.map((id) => structuredClone(requireUser(state, id))),
    mention_roles: roles,
    mention_everyone: everyone,
  };
}

/** A message to create: who posts it where, what they sent, and what kind of message it is. */
export interface NewMessage {
  channel: ChannelState;
  author: EmulatedUser;
  outgoing: OutgoingMessage;
  files: UploadedFile[];
  authorIsBot: boolean;
  webhookId?: string;
  type?: number;
  interactionMetadata?: JsonObject;
  ephemeral?: boolean;
  extraFlags?: number;
  /** For system messages that point somewhere (a thread-created notice points at its thread). */
  systemReference?: JsonObject;
}

/** Stores a message (unless ephemeral), updates the channel and dispatches MESSAGE_CREATE. */
export function postMessage(state: EmulatorState, input: NewMessage): EmulatedMessage {
  const { channel, outgoing } = input;
  reopenThreadForPost(state, channel);
  let referenced: EmulatedMessage | undefined;
  const reference = outgoing.message_reference;
  if (reference && typeof reference.message_id === 'string') {
    referenced = state.channelMessages.get(channel.id)?.find((m) => m.id === reference.message_id);
    if (!referenced && reference.fail_if_not_exists !== false) {
      const errors = new FormErrors();
      errors.add(['message_reference'], 'REPLIES_UNKNOWN_MESSAGE', 'Unknown message');
      errors.throwIfAny();
    }
  }
  const content = outgoing.content ?? '';
  const message: EmulatedMessage = {
    id: snowflake(state),
    type: input.type ?? (referenced ? MessageType.Reply : MessageType.Default),
    channel_id: channel.id,
    content,
    author: structuredClone(input.author),
    embeds: outgoing.embeds ?? [],
    components: outgoing.components ?? [],
    attachments: attachmentsFor(state, channel.id, outgoing, input.files),
    ...resolveMentions(
      state,
      content,
      outgoing.allowed_mentions,
      { isBot: input.authorIsBot, isWebhook: input.webhookId !== undefined },
      referenced,
      channel,
    ),
    timestamp: nowIso(),
    edited_timestamp: null,
    tts: outgoing.tts ?? false,
    pinned: false,
    flags: ((outgoing.flags ?? 0) & ~MessageFlag.Loading) | (input.extraFlags ?? 0),
  };
  if (channel.guildId) message.guild_id = channel.guildId;
  if (input.webhookId) message.webhook_id = input.webhookId;
  if (input.interactionMetadata) {
    message.interaction_metadata = input.interactionMetadata;
    message.application_id = state.applicationId;
  }
  if (outgoing.allowed_mentions) message.allowed_mentions = outgoing.allowed_mentions;
  if (outgoing.avatar_url) message.avatar_url = outgoing.avatar_url;
  if (referenced) {
    message.message_reference = { type: 0, message_id: referenced.id, channel_id: channel.id };
    if (channel.guildId) (message.message_reference as JsonObject).guild_id = channel.guildId;
    const { referenced_message: _nested, ...quoted } = referenced;
    message.referenced_message = structuredClone(quoted);
  }
  if (input.systemReference) message.message_reference = input.systemReference;
  if (input.ephemeral) {
    state.ephemeralMessages.set(message.id, message);
    return message;
  }
  state.channelMessages.get(channel.id)?.push(message);
  channel.lastMessageId = message.id;
  // Posting in a thread joins it (webhooks are not members).
  if (channel.members && !input.webhookId && !channel.members.has(input.author.id)) {
    channel.members.set(input.author.id, message.timestamp);
  }
  if (channel.thread) {
    channel.messageCount += 1;
    channel.totalMessageSent += 1;
  }
  dispatchMessage(state, 'MESSAGE_CREATE', message);
  return message;
}

/** Posting into an archived, unlocked thread unarchives it (Discord's behaviour). */
function reopenThreadForPost(state: EmulatorState, channel: ChannelState): void {
  if (!channel.thread?.archived) return;
  if (channel.thread.locked) throw new ApiError(400, 50083, 'Thread is archived');
  channel.thread.archived = false;
  channel.thread.archiveTimestamp = nowIso();
  dispatch(state, 'THREAD_UPDATE', channelPayload(state, channel), Intent.Guilds);
}

/** Applies an edit body to a message and dispatches MESSAGE_UPDATE (unless ephemeral). */
export function editMessage(
  state: EmulatorState,
  message: EmulatedMessage,
  body: unknown,
  files: UploadedFile[],
): EmulatedMessage {
  const outgoing = readOutgoing(body);
  validateOutgoing(outgoing, files, { isEdit: true });
  if (outgoing.content !== undefined) {
    message.content = outgoing.content;
    Object.assign(
      message,
      resolveMentions(
        state,
        outgoing.content,
        outgoing.allowed_mentions,
        { isBot: true, isWebhook: message.webhook_id !== undefined },
        message.referenced_message,
        state.channels.get(message.channel_id),
      ),
    );
  }
  if (outgoing.embeds) message.embeds = outgoing.embeds;
  if (outgoing.components) message.components = outgoing.components;
  if (outgoing.allowed_mentions) message.allowed_mentions = outgoing.allowed_mentions;
  if (outgoing.attachments) {
    const keep = new Set(outgoing.attachments.map((attachment) => String(attachment.id)));
    message.attachments = message.attachments.filter((attachment) => keep.has(attachment.id));
  }
  message.attachments.push(...attachmentsFor(state, message.channel_id, outgoing, files));
  if (outgoing.flags !== undefined) {
    // Only SUPPRESS_EMBEDS can be toggled by an edit.
    message.flags =
      (message.flags & ~MessageFlag.SuppressEmbeds) | (outgoing.flags & MessageFlag.SuppressEmbeds);
  }
  message.flags &= ~MessageFlag.Loading;
  message.edited_timestamp = nowIso();
  const edits = state.messageEdits.get(message.id) ?? [];
  edits.push({ content: message.content, at: state.clock() });
  state.messageEdits.set(message.id, edits);
  if (!state.ephemeralMessages.has(message.id)) dispatchMessage(state, 'MESSAGE_UPDATE', message);
  return message;
}

/** Deletes a message (ephemeral ones silently) and dispatches MESSAGE_DELETE. */
export function removeMessage(state: EmulatorState, message: EmulatedMessage): void {
  if (state.ephemeralMessages.delete(message.id)) return;
  state.reactions.delete(message.id);
  const list = state.channelMessages.get(message.channel_id);
  const index = list?.indexOf(message) ?? -1;
  if (list && index >= 0) list.splice(index, 1);
  const payload: JsonObject = { id: message.id, channel_id: message.channel_id };
  if (message.guild_id) payload.guild_id = message.guild_id;
  const channel = state.channels.get(message.channel_id);
  // A thread's message_count drops on delete; total_message_sent does not.
  if (channel?.thread && channel.messageCount > 0) channel.messageCount -= 1;
  dispatch(
    state,
    'MESSAGE_DELETE',
    payload,
    channel?.type === ChannelType.DM ? Intent.DirectMessages : Intent.GuildMessages,
  );
}
