/** Routes for threads: starting one (from a message or not), joining and leaving, archived lists. */

import { AUTO_ARCHIVE_DURATIONS, ChannelType, Intent, MessageType } from '../constants.ts';
import { dispatch } from '../gateway.ts';
import { postMessage } from '../messages.ts';
import type { ChannelState, EmulatorState, Route, RouteContext, RouteResult } from '../model.ts';
import { botThreadMembers, channelPayload, memberPayload } from '../payloads.ts';
import { Permission, requireBotPermission } from '../permissions.ts';
import { ApiError, noContent, ok, wrongChannelType } from '../results.ts';
import { findChannelMessage, requireUser, snowflake } from '../state.ts';
import { isObject, nowIso } from '../util.ts';
import { checkBetween, FormErrors, readLimitQuery } from '../validation.ts';
import { channelFor } from './channels.ts';
import { route } from './table.ts';

export const threadRoutes: Route[] = [
  route('POST', '/channels/:channel/messages/:message/threads', (state, c) =>
    startThread(state, c, c.param('message')),
  ),
  route('POST', '/channels/:channel/threads', (state, c) => startThread(state, c, undefined)),
  route('PUT', '/channels/:channel/thread-members/@me', (state, c) => {
    threadFor(state, c).members?.set(state.botUserId, nowIso());
    return noContent();
  }),
  route('DELETE', '/channels/:channel/thread-members/@me', (state, c) => {
    threadFor(state, c).members?.delete(state.botUserId);
    return noContent();
  }),
  // Not restricted by the members intent (listing them all is): 404 for someone not in the thread.
  route('GET', '/channels/:channel/thread-members/:user', (state, c) => {
    const thread = threadFor(state, c);
    requireBotPermission(state, thread, Permission.ViewChannel);
    const userId = c.param('user');
    const joined = thread.members?.get(userId);
    if (!joined) throw new ApiError(404, 10007, 'Unknown Member');
    return ok({
      id: thread.id,
      user_id: userId,
      join_timestamp: joined,
      flags: 0,
      ...(c.query.with_member === 'true' && state.members.has(userId)
        ? { member: memberPayload(state, userId) }
        : {}),
    });
  }),
  route('GET', '/channels/:channel/threads/archived/public', (state, c) =>
    listArchivedThreads(state, c, ChannelType.PublicThread),
  ),
  route('GET', '/channels/:channel/threads/archived/private', (state, c) =>
    listArchivedThreads(state, c, ChannelType.PrivateThread),
  ),
];

/** The thread `:channel` names; 400 50024 for a channel that is not a thread. */
function threadFor(state: EmulatorState, context: RouteContext): ChannelState {
  const channel = channelFor(state, context);
  if (!channel.thread) throw wrongChannelType();
  return channel;
}

/** `POST /channels/{id}/messages/{id}/threads` (starter message) or `POST /channels/{id}/threads`. */
function startThread(
  state: EmulatorState,
  context: RouteContext,
  starterId: string | undefined,
): RouteResult {
  const parent = channelFor(state, context);
  if (parent.type !== ChannelType.GuildText) throw wrongChannelType();
  const body = isObject(context.body) ? context.body : {};
  const type = starterId ? ChannelType.PublicThread : Number(body.type ?? ChannelType.PrivateThread);
  requireBotPermission(
    state,
    parent,
    type === ChannelType.PrivateThread ? Permission.CreatePrivateThreads : Permission.CreatePublicThreads,
  );
  const errors = new FormErrors();
  const name = typeof body.name === 'string' ? body.name : '';
  checkBetween(errors, ['name'], name, 1, 100);
  const autoArchive = body.auto_archive_duration === undefined ? 1440 : Number(body.auto_archive_duration);
  if (!AUTO_ARCHIVE_DURATIONS.has(autoArchive)) {
    errors.add(
      ['auto_archive_duration'],
      'BASE_TYPE_CHOICES',
      'Value must be one of {60, 1440, 4320, 10080}.',
    );
  }
  if (type !== ChannelType.PublicThread && type !== ChannelType.PrivateThread) {
    errors.add(['type'], 'BASE_TYPE_CHOICES', 'Value must be one of {11, 12}.');
  }
  errors.throwIfAny();
  if (starterId) {
    findChannelMessage(state, parent.id, starterId);
    if (state.channels.has(starterId)) {
      throw new ApiError(400, 160004, 'A thread has already been created for this message');
    }
  }
  const now = nowIso();
  const thread: ChannelState = {
    // Discord's rule: a thread started from a message has the message's id.
    id: starterId ?? snowflake(state),
    type,
    name,
    guildId: parent.guildId ?? state.guildId,
    parentId: parent.id,
    ownerId: state.botUserId,
    position: 0,
    messageCount: 0,
    totalMessageSent: 0,
    thread: {
      archived: false,
      locked: false,
      autoArchiveDuration: autoArchive,
      archiveTimestamp: now,
      createTimestamp: now,
    },
    overwrites: [],
    members: new Map([[state.botUserId, now]]),
  };
  state.channels.set(thread.id, thread);
  state.channelMessages.set(thread.id, []);
  const payload = channelPayload(state, thread);
  dispatch(
    state,
    'THREAD_CREATE',
    {
      ...payload,
      newly_created: true,
      member: { id: thread.id, user_id: state.botUserId, join_timestamp: now, flags: 0 },
    },
    Intent.Guilds,
  );
  if (!starterId) {
    // Discord announces threads without a starter message in the parent channel.
    postMessage(state, {
      channel: parent,
      author: requireUser(state, state.botUserId),
      outgoing: { content: name, hasStickersOrPoll: false },
      files: [],
      authorIsBot: true,
      type: MessageType.ThreadCreated,
      systemReference: { type: 0, channel_id: thread.id, guild_id: thread.guildId },
    });
  }
  return { status: 201, body: payload };
}

/**
 * `GET /channels/{id}/threads/archived/{public|private}`: archived threads of the channel, most
 * recently archived first, `before` an ISO8601 timestamp, `limit` at most 100 (default 50).
 */
function listArchivedThreads(state: EmulatorState, context: RouteContext, type: number): RouteResult {
  const parent = channelFor(state, context);
  if (parent.type !== ChannelType.GuildText) throw wrongChannelType();
  requireBotPermission(state, parent, Permission.ReadMessageHistory);
  if (type === ChannelType.PrivateThread) requireBotPermission(state, parent, Permission.ManageThreads);
  const errors = new FormErrors();
  const limit = readLimitQuery(errors, context.query.limit, 1, 100, 50);
  const before = context.query.before === undefined ? undefined : Date.parse(context.query.before);
  if (before !== undefined && Number.isNaN(before)) {
    errors.add(['before'], 'DATE_TIME_TYPE_PARSE', 'Could not parse the date time.');
  }
  errors.throwIfAny();
  const archived = [...state.channels.values()]
    .filter(
      (channel) =>
        channel.parentId === parent.id &&
        channel.type === type &&
        channel.thread?.archived === true &&
        (before === undefined || Date.parse(channel.thread.archiveTimestamp) < before),
    )
    .sort(
      (a, b) =>
        Date.parse(b.thread?.archiveTimestamp ?? '') - Date.parse(a.thread?.archiveTimestamp ?? '') ||
        Number(BigInt(b.id) - BigInt(a.id)),
    );
  const page = archived.slice(0, limit);
  return ok({
    threads: page.map((channel) => channelPayload(state, channel)),
    members: botThreadMembers(state, page),
    has_more: archived.length > page.length,
  });
}
