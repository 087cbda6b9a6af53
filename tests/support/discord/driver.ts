/**
 * The driver: what users do. Members post and send DMs, run slash commands (and type into
 * autocomplete options), click buttons and react to messages; each action checks the member may do it where they are
 * (a thrown Error, not an HTTP error: it is the test that is wrong) and is dispatched to the bot.
 */

import { ChannelType, Intent, InteractionType } from './constants.ts';
import { dispatch } from './gateway.ts';
import { commandOption, dispatchInteraction, newInteraction } from './interactions.ts';
import { postMessage } from './messages.ts';
import type { ChannelState, EmulatorState, JsonObject, OutgoingMessage, UploadedFile } from './model.ts';
import { channelPayload, restMessage } from './payloads.ts';
import { Permission, requireMemberCan } from './permissions.ts';
import { addReaction, hasReaction, removeReaction } from './reactions.ts';
import { dmChannelFor, findMessage, requireChannel, requireUser, snowflake } from './state.ts';
import type { EmulatedMessage, InteractionRecord, UserAttachment } from './types.ts';
import { guessContentType, isObject, nowIso } from './util.ts';

/** How a member's post is made (`DiscordEmulator.userSays`). */
export interface UserSaysOptions {
  mentionBot?: boolean;
  /** Files served at the attachment URL; `serving` makes the download misbehave. */
  attachments?: UserAttachment[];
  /** Makes it a reply to this message. */
  replyTo?: string;
}

/** A member posts in a guild channel or thread: stored, then MESSAGE_CREATE. */
export function userSays(
  state: EmulatorState,
  userId: string,
  channelId: string,
  content: string,
  options: UserSaysOptions = {},
): EmulatedMessage {
  const author = requireUser(state, userId);
  const channel = requireChannel(state, channelId);
  const send = channel.thread ? Permission.SendMessagesInThreads : Permission.SendMessages;
  const attach = (options.attachments?.length ?? 0) > 0 ? Permission.AttachFiles : 0n;
  requireMemberCan(state, 'userSays', userId, channel, send | attach);
  const text = options.mentionBot ? `<@${state.botUserId}> ${content}` : content;
  const files: UploadedFile[] = (options.attachments ?? []).map((attachment, index) => {
    const file: UploadedFile = {
      field: `files[${index}]`,
      filename: attachment.filename,
      contentType:
        attachment.contentType ?? guessContentType(attachment.filename) ?? 'application/octet-stream',
      data: typeof attachment.content === 'string' ? Buffer.from(attachment.content) : attachment.content,
    };
    if (attachment.size !== undefined) file.declaredSize = attachment.size;
    if (attachment.serving) file.serving = attachment.serving;
    return file;
  });
  const outgoing: OutgoingMessage = { content: text, hasStickersOrPoll: false };
  if (options.replyTo) outgoing.message_reference = { message_id: options.replyTo };
  const message = postMessage(state, { channel, author, outgoing, files, authorIsBot: false });
  return structuredClone(message);
}

/**
 * A member starts a thread without a starter message in a guild text channel: public (type 11),
 * or private (type 12, seen by its members and whoever may manage threads). `members` are added
 * to it, as a member adds people (the bot among them, to talk to it there). THREAD_CREATE.
 */
export function userStartsThread(
  state: EmulatorState,
  userId: string,
  channelId: string,
  name: string,
  options: { private?: boolean; members?: string[] } = {},
): string {
  requireUser(state, userId);
  const parent = requireChannel(state, channelId);
  if (parent.type !== ChannelType.GuildText)
    throw new Error(`userStartsThread: #${parent.name} is not a text channel`);
  const type = options.private ? ChannelType.PrivateThread : ChannelType.PublicThread;
  const needed = options.private ? Permission.CreatePrivateThreads : Permission.CreatePublicThreads;
  requireMemberCan(state, 'userStartsThread', userId, parent, needed);
  const now = nowIso();
  const thread: ChannelState = {
    id: snowflake(state),
    type,
    name,
    guildId: parent.guildId ?? state.guildId,
    parentId: parent.id,
    ownerId: userId,
    position: 0,
    messageCount: 0,
    totalMessageSent: 0,
    thread: {
      archived: false,
      locked: false,
      autoArchiveDuration: 1440,
      archiveTimestamp: now,
      createTimestamp: now,
    },
    overwrites: [],
    members: new Map([userId, ...(options.members ?? [])].map((id) => [id, now])),
  };
  state.channels.set(thread.id, thread);
  state.channelMessages.set(thread.id, []);
  const joined = thread.members?.has(state.botUserId)
    ? { member: { id: thread.id, user_id: state.botUserId, join_timestamp: now, flags: 0 } }
    : {};
  dispatch(
    state,
    'THREAD_CREATE',
    { ...channelPayload(state, thread), newly_created: true, ...joined },
    Intent.Guilds,
  );
  return thread.id;
}

/**
 * Someone joins a thread, or leaves it (`joined: false`): in a private thread, being a member is
 * what lets them see it. THREAD_MEMBERS_UPDATE, which Discord sends to a bot without the members
 * intent only when the bot itself joined or left.
 */
export function setThreadMember(
  state: EmulatorState,
  threadId: string,
  userId: string,
  joined: boolean,
): void {
  requireUser(state, userId);
  const thread = requireChannel(state, threadId);
  if (!thread.thread || !thread.members) throw new Error(`setThreadMember: ${threadId} is not a thread`);
  const now = nowIso();
  if (joined) thread.members.set(userId, now);
  else thread.members.delete(userId);
  const change = joined
    ? { added_members: [{ id: thread.id, user_id: userId, join_timestamp: now, flags: 0 }] }
    : { removed_member_ids: [userId] };
  dispatch(
    state,
    'THREAD_MEMBERS_UPDATE',
    { id: thread.id, guild_id: thread.guildId, member_count: thread.members.size, ...change },
    userId === state.botUserId ? undefined : Intent.GuildMembers,
  );
}

/** A user writes to the bot in DMs (channel type 1; MESSAGE_CREATE without guild_id). */
export function userDMs(state: EmulatorState, userId: string, content: string): EmulatedMessage {
  const author = requireUser(state, userId);
  const channel = dmChannelFor(state, userId);
  const message = postMessage(state, {
    channel,
    author,
    outgoing: { content, hasStickersOrPoll: false },
    files: [],
    authorIsBot: false,
  });
  return structuredClone(message);
}

/** A member runs a slash command: INTERACTION_CREATE type 2. */
export function runCommand(
  state: EmulatorState,
  userId: string,
  channelId: string,
  name: string,
  options: Record<string, string | number | boolean> = {},
  subcommand?: string,
  focused?: string,
): InteractionRecord {
  requireUser(state, userId);
  const channel = requireChannel(state, channelId);
  requireMemberCan(state, 'runCommand', userId, channel, Permission.UseApplicationCommands);
  const guildId = channel.guildId;
  const command =
    state.commandStates.find((c) => guildId !== undefined && c.guildId === guildId && c.body.name === name) ??
    state.commandStates.find((c) => c.guildId === undefined && c.body.name === name);
  const definitions = Array.isArray(command?.body.options) ? command.body.options.filter(isObject) : [];
  const subDefinitions = subcommand
    ? definitions.find((definition) => definition.name === subcommand)?.options
    : definitions;
  const resolved: Record<string, JsonObject> = {};
  const built = Object.entries(options).map(([optionName, value]) => {
    const option = commandOption(
      state,
      optionName,
      value,
      Array.isArray(subDefinitions) ? subDefinitions.filter(isObject) : [],
      resolved,
      guildId,
    );
    // What the member is typing: a partial value, sent as typed.
    return optionName === focused ? { ...option, value: String(value), focused: true } : option;
  });
  const data: JsonObject = {
    id: command?.id ?? snowflake(state),
    name,
    type: 1,
  };
  if (subcommand) data.options = [{ name: subcommand, type: 1, options: built }];
  else if (built.length > 0) data.options = built;
  if (Object.keys(resolved).length > 0) data.resolved = resolved;
  if (command?.guildId) data.guild_id = command.guildId;

  const interaction = newInteraction(
    state,
    focused === undefined ? InteractionType.ApplicationCommand : InteractionType.Autocomplete,
    userId,
    channel,
  );
  interaction.record.commandName = name;
  dispatchInteraction(state, interaction, { data });
  return interaction.record;
}

/** A member clicks a button on a message: INTERACTION_CREATE type 3 with the full message. */
export function clickButton(
  state: EmulatorState,
  userId: string,
  messageId: string,
  customId: string,
): InteractionRecord {
  requireUser(state, userId);
  const message = findMessage(state, messageId);
  if (!message) throw new Error(`clickButton: unknown message ${messageId}`);
  const button = findComponent(message.components, customId);
  if (!button)
    throw new Error(`clickButton: message ${messageId} has no component with custom_id "${customId}"`);
  if (button.disabled === true) throw new Error(`clickButton: button "${customId}" is disabled`);
  const channel = requireChannel(state, message.channel_id);
  requireMemberCan(state, 'clickButton', userId, channel, Permission.ViewChannel);
  const interaction = newInteraction(state, InteractionType.MessageComponent, userId, channel);
  interaction.record.customId = customId;
  interaction.componentMessageId = message.id;
  dispatchInteraction(state, interaction, {
    data: { custom_id: customId, component_type: 2 },
    message: restMessage(message),
  });
  return interaction.record;
}

/** The component with this custom_id, in rows, containers or as a section's accessory. */
function findComponent(components: unknown[], customId: string): JsonObject | undefined {
  for (const component of components) {
    if (!isObject(component)) continue;
    if (component.custom_id === customId) return component;
    if (Array.isArray(component.components)) {
      const found = findComponent(component.components, customId);
      if (found) return found;
    }
    if (isObject(component.accessory) && component.accessory.custom_id === customId)
      return component.accessory;
  }
  return undefined;
}

/** The message a member acts on, and its channel; ephemeral messages take no reactions. */
function reactable(state: EmulatorState, action: string, messageId: string) {
  const message = state.ephemeralMessages.has(messageId) ? undefined : findMessage(state, messageId);
  if (!message) throw new Error(`${action}: unknown message ${messageId}`);
  return { message, channel: requireChannel(state, message.channel_id) };
}

/**
 * A member reacts to a message (`👍`, or a server emoji as `name:id`): stored, then
 * MESSAGE_REACTION_ADD. The first of an emoji needs Add Reactions, joining one Read Message
 * History. Reacting twice with one emoji changes nothing, as on Discord.
 */
export function react(state: EmulatorState, userId: string, messageId: string, emoji: string): void {
  requireUser(state, userId);
  const { message, channel } = reactable(state, 'react', messageId);
  const first = hasReaction(state, messageId, emoji) ? 0n : Permission.AddReactions;
  requireMemberCan(state, 'react', userId, channel, Permission.ReadMessageHistory | first);
  addReaction(state, channel, message, userId, emoji);
}

/** A member takes their reaction back: MESSAGE_REACTION_REMOVE (nothing when they had none). */
export function unreact(state: EmulatorState, userId: string, messageId: string, emoji: string): void {
  requireUser(state, userId);
  const { message, channel } = reactable(state, 'unreact', messageId);
  removeReaction(state, channel, message, userId, emoji);
}
