/**
 * Reactions as Discord keeps them: who reacted to a message with which emoji, the `reactions` a
 * message then shows (a count per emoji, `me` for the bot's own), and MESSAGE_REACTION_ADD /
 * MESSAGE_REACTION_REMOVE dispatched to the sessions with the reactions intent of the channel's
 * kind (GUILD_MESSAGE_REACTIONS in a server, DIRECT_MESSAGE_REACTIONS in a DM) that can see it.
 * Members react through the driver (`react`, `unreact`); the bot through its `@me` routes.
 */

import { ChannelType, Intent } from './constants.ts';
import { dispatch } from './gateway.ts';
import type { ChannelState, EmojiState, EmulatorState, JsonObject } from './model.ts';
import { memberPayload } from './payloads.ts';
import { botCan, Permission } from './permissions.ts';
import type { EmulatedMessage, EmulatedReaction } from './types.ts';

/**
 * An emoji as a test, a route or a message writes it: a Unicode emoji (`👍`), or a server's own
 * as `name:id` (the routes' form), `<:name:id>` or `<a:name:id>` (animated).
 */
export function parseEmoji(text: string): EmojiState {
  const custom = /^<?(a?):?([\w~-]{1,32}):(\d{15,21})>?$/.exec(text);
  if (!custom) return { id: null, name: text };
  const emoji: EmojiState = { id: custom[3] ?? null, name: custom[2] ?? '' };
  if (custom[1] === 'a') emoji.animated = true;
  return emoji;
}

const keyOf = (emoji: EmojiState) => emoji.id ?? emoji.name;

/** The emoji as gateway events and message objects carry it. */
function emojiPayload(emoji: EmojiState): EmulatedReaction['emoji'] {
  return emoji.animated
    ? { id: emoji.id, name: emoji.name, animated: true }
    : { id: emoji.id, name: emoji.name };
}

/** The message's `reactions`, recomputed from who reacted (absent when nobody did). */
function showReactions(state: EmulatorState, message: EmulatedMessage): void {
  const byEmoji = state.reactions.get(message.id);
  const shown = [...(byEmoji?.values() ?? [])]
    .filter((entry) => entry.users.length > 0)
    .map(
      ({ emoji, users }): EmulatedReaction => ({
        count: users.length,
        count_details: { burst: 0, normal: users.length },
        me: users.includes(state.botUserId),
        me_burst: false,
        emoji: emojiPayload(emoji),
        burst_colors: [],
      }),
    );
  if (shown.length > 0) message.reactions = shown;
  else delete message.reactions;
}

/** The event to the sessions that can see the channel and asked for its kind of reactions. */
function dispatchReaction(
  state: EmulatorState,
  t: 'MESSAGE_REACTION_ADD' | 'MESSAGE_REACTION_REMOVE',
  channel: ChannelState,
  d: JsonObject,
): void {
  if (channel.type === ChannelType.DM) {
    dispatch(state, t, d, Intent.DirectMessageReactions);
    return;
  }
  // As for messages: no event from a channel the bot cannot view.
  if (!botCan(state, channel, Permission.ViewChannel)) return;
  dispatch(state, t, d, Intent.GuildMessageReactions);
}

/** The fields both events share: who, where, which emoji, and that it is a plain (not a super) reaction. */
function basePayload(message: EmulatedMessage, userId: string, emoji: EmojiState): JsonObject {
  const payload: JsonObject = {
    user_id: userId,
    channel_id: message.channel_id,
    message_id: message.id,
    emoji: emojiPayload(emoji),
    burst: false,
    type: 0,
  };
  if (message.guild_id) payload.guild_id = message.guild_id;
  return payload;
}

/**
 * `userId` reacts to `message` with `emojiText`; false (and nothing dispatched) when they already
 * had. MESSAGE_REACTION_ADD carries the reacting member and `message_author_id`: the webhook's id
 * for a webhook message, as on Discord.
 */
export function addReaction(
  state: EmulatorState,
  channel: ChannelState,
  message: EmulatedMessage,
  userId: string,
  emojiText: string,
): boolean {
  const emoji = parseEmoji(emojiText);
  const byEmoji = state.reactions.get(message.id) ?? new Map();
  state.reactions.set(message.id, byEmoji);
  const entry = byEmoji.get(keyOf(emoji)) ?? { emoji, users: [] };
  byEmoji.set(keyOf(emoji), entry);
  if (entry.users.includes(userId)) return false;
  entry.users.push(userId);
  showReactions(state, message);
  const payload = basePayload(message, userId, emoji);
  payload.message_author_id = message.author.id;
  payload.burst_colors = [];
  if (message.guild_id && state.members.has(userId)) {
    payload.member = memberPayload(state, userId, message.guild_id);
  }
  dispatchReaction(state, 'MESSAGE_REACTION_ADD', channel, payload);
  return true;
}

/** Takes `userId`'s reaction back; false (and nothing dispatched) when there was none. */
export function removeReaction(
  state: EmulatorState,
  channel: ChannelState,
  message: EmulatedMessage,
  userId: string,
  emojiText: string,
): boolean {
  const emoji = parseEmoji(emojiText);
  const entry = state.reactions.get(message.id)?.get(keyOf(emoji));
  if (!entry?.users.includes(userId)) return false;
  entry.users = entry.users.filter((id) => id !== userId);
  showReactions(state, message);
  dispatchReaction(state, 'MESSAGE_REACTION_REMOVE', channel, basePayload(message, userId, entry.emoji));
  return true;
}

/** Whether anyone reacted to the message with this emoji yet (a new one needs Add Reactions). */
export function hasReaction(state: EmulatorState, messageId: string, emojiText: string): boolean {
  return (state.reactions.get(messageId)?.get(keyOf(parseEmoji(emojiText)))?.users.length ?? 0) > 0;
}
