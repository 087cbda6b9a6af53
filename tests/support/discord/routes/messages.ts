/** Routes for a channel's messages: history, posting, reading, editing, deleting, reactions, typing. */

import { ChannelType } from '../constants.ts';
import { editMessage, postMessage, removeMessage } from '../messages.ts';
import type { EmulatorState, Route, RouteContext, RouteResult } from '../model.ts';
import { messageForRest, restMessage } from '../payloads.ts';
import { botCan, Permission, requireBotPermission } from '../permissions.ts';
import { BUCKET_PREFIX } from '../rateLimits.ts';
import { addReaction, hasReaction, removeReaction } from '../reactions.ts';
import { ApiError, noContent, ok } from '../results.ts';
import { findChannelMessage, requireUser } from '../state.ts';
import type { EmulatedMessage } from '../types.ts';
import { shortHash } from '../util.ts';
import { FormErrors, readLimitQuery, readOutgoing, validateOutgoing } from '../validation.ts';
import { channelFor } from './channels.ts';
import { route } from './table.ts';

export const messageRoutes: Route[] = [
  route('GET', '/channels/:channel/messages', listMessages),
  route('POST', '/channels/:channel/messages', createChannelMessage, {
    bucket: (_state, c) => ({
      key: `${BUCKET_PREFIX.channelMessages}:${c.param('channel')}`,
      hash: shortHash('channel-messages'),
      kind: 'channelMessages',
    }),
  }),
  route('GET', '/channels/:channel/messages/:message', (state, c) => {
    const channel = channelFor(state, c);
    requireBotPermission(state, channel, Permission.ReadMessageHistory);
    return ok(messageForRest(state, findChannelMessage(state, channel.id, c.param('message'))));
  }),
  route('PATCH', '/channels/:channel/messages/:message', (state, c) => {
    const channel = channelFor(state, c);
    const message = findChannelMessage(state, channel.id, c.param('message'));
    if (message.author.id !== state.botUserId || message.webhook_id) {
      throw new ApiError(403, 50005, 'Cannot edit a message authored by another user');
    }
    return ok(restMessage(editMessage(state, message, c.body, c.files)));
  }),
  route('DELETE', '/channels/:channel/messages/:message', (state, c) => {
    const channel = channelFor(state, c);
    const message = findChannelMessage(state, channel.id, c.param('message'));
    if (message.author.id !== state.botUserId)
      requireBotPermission(state, channel, Permission.ManageMessages);
    removeMessage(state, message);
    return noContent();
  }),
  route('PUT', '/channels/:channel/messages/:message/reactions/:emoji/@me', (state, c) => {
    const channel = channelFor(state, c);
    const message = findChannelMessage(state, channel.id, c.param('message'));
    const first = hasReaction(state, message.id, c.param('emoji')) ? 0n : Permission.AddReactions;
    requireBotPermission(state, channel, Permission.ReadMessageHistory | first);
    addReaction(state, channel, message, state.botUserId, c.param('emoji'));
    return noContent();
  }),
  route('DELETE', '/channels/:channel/messages/:message/reactions/:emoji/@me', (state, c) => {
    const channel = channelFor(state, c);
    const message = findChannelMessage(state, channel.id, c.param('message'));
    removeReaction(state, channel, message, state.botUserId, c.param('emoji'));
    return noContent();
  }),
  route('POST', '/channels/:channel/typing', (state, c) => {
    const channel = channelFor(state, c);
    requireBotPermission(
      state,
      channel,
      channel.thread ? Permission.SendMessagesInThreads : Permission.SendMessages,
    );
    return noContent();
  }),
];

/**
 * `GET /channels/{id}/messages`: `limit` 1–100 (default 50) and one of `around`, `before`,
 * `after` (Discord documents them as mutually exclusive; here `around` wins, then `before`).
 * Always newest first: `after` gives the `limit` messages right after the id, `before` the
 * `limit` right before it, `around` about half on each side (the message itself included).
 */
function listMessages(state: EmulatorState, context: RouteContext): RouteResult {
  const channel = channelFor(state, context);
  requireBotPermission(state, channel, Permission.ViewChannel);
  const errors = new FormErrors();
  const limit = readLimitQuery(errors, context.query.limit, 1, 100, 50);
  const anchors: Partial<Record<'around' | 'before' | 'after', bigint>> = {};
  for (const key of ['around', 'before', 'after'] as const) {
    const value = context.query[key];
    if (value === undefined) continue;
    if (/^\d{1,20}$/.test(value)) anchors[key] = BigInt(value);
    else errors.add([key], 'NUMBER_TYPE_COERCE', `Value "${value}" is not snowflake.`);
  }
  errors.throwIfAny();
  if (!botCan(state, channel, Permission.ReadMessageHistory) && channel.type !== ChannelType.DM) {
    return ok([]);
  }
  const all = state.channelMessages.get(channel.id) ?? [];
  const { around, before, after } = anchors;
  let selected: EmulatedMessage[];
  if (around !== undefined) {
    let index = all.findIndex((m) => BigInt(m.id) >= around);
    if (index < 0) index = all.length;
    const start = Math.max(index - Math.floor(limit / 2), 0);
    selected = all.slice(start, start + limit);
  } else if (before !== undefined) {
    selected = all.filter((m) => BigInt(m.id) < before).slice(-limit);
  } else if (after !== undefined) {
    selected = all.filter((m) => BigInt(m.id) > after).slice(0, limit);
  } else selected = all.slice(-limit);
  return ok([...selected].reverse().map((message) => messageForRest(state, message)));
}

/** `POST /channels/{id}/messages`: the bot posts (username and avatar_url are for webhooks only). */
function createChannelMessage(state: EmulatorState, context: RouteContext): RouteResult {
  const channel = channelFor(state, context);
  requireBotPermission(
    state,
    channel,
    channel.thread ? Permission.SendMessagesInThreads : Permission.SendMessages,
  );
  if (context.files.length > 0) requireBotPermission(state, channel, Permission.AttachFiles);
  const outgoing = readOutgoing(context.body);
  delete outgoing.username;
  delete outgoing.avatar_url;
  validateOutgoing(outgoing, context.files, { isEdit: false });
  const message = postMessage(state, {
    channel,
    author: requireUser(state, state.botUserId),
    outgoing,
    files: context.files,
    authorIsBot: true,
  });
  return ok(restMessage(message));
}
