/** Routes for a channel itself: reading it, modifying it (a thread or a text channel), its overwrites. */

import { AUTO_ARCHIVE_DURATIONS, ChannelType, Intent } from '../constants.ts';
import { dispatch } from '../gateway.ts';
import type {
  ChannelState,
  EmulatorState,
  JsonObject,
  OverwriteState,
  Route,
  RouteContext,
  RouteResult,
} from '../model.ts';
import { channelPayload } from '../payloads.ts';
import { botPermissions, hasPermission, Permission, requireBotPermission } from '../permissions.ts';
import {
  ApiError,
  invalidJson,
  missingPermissions,
  noContent,
  ok,
  unknownChannel,
  wrongChannelType,
} from '../results.ts';
import { overwriteState } from '../state.ts';
import { isObject, nowIso } from '../util.ts';
import { checkBetween, FormErrors } from '../validation.ts';
import { route } from './table.ts';

export const channelRoutes: Route[] = [
  route('GET', '/channels/:channel', (state, c) => {
    const channel = channelFor(state, c);
    requireBotPermission(state, channel, Permission.ViewChannel);
    return ok(channelPayload(state, channel));
  }),
  route('PATCH', '/channels/:channel', modifyChannel),
  route('PUT', '/channels/:channel/permissions/:overwrite', putOverwrite),
  route('DELETE', '/channels/:channel/permissions/:overwrite', (state, c) => {
    const channel = overwritableFor(state, c);
    channel.overwrites = channel.overwrites.filter((o) => o.id !== c.param('overwrite'));
    dispatch(state, 'CHANNEL_UPDATE', channelPayload(state, channel), Intent.Guilds);
    return noContent();
  }),
];

/** The channel (or thread, or DM) `:channel` names; 404 Unknown Channel otherwise. */
export function channelFor(state: EmulatorState, context: RouteContext): ChannelState {
  const channel = state.channels.get(context.param('channel'));
  if (!channel) throw unknownChannel();
  return channel;
}

/** A guild text channel whose overwrites the bot may edit (Manage Roles there). */
function overwritableFor(state: EmulatorState, context: RouteContext): ChannelState {
  const channel = channelFor(state, context);
  if (channel.type !== ChannelType.GuildText) throw wrongChannelType();
  requireBotPermission(state, channel, Permission.ManageRoles);
  return channel;
}

/** `PUT /channels/{id}/permissions/{overwrite}`: sets one role's or member's overwrite. */
function putOverwrite(state: EmulatorState, c: RouteContext): RouteResult {
  const channel = overwritableFor(state, c);
  const body = isObject(c.body) ? c.body : {};
  const id = c.param('overwrite');
  const type = body.type === 1 ? 1 : body.type === 0 ? 0 : undefined;
  const errors = new FormErrors();
  if (type === undefined) errors.add(['type'], 'BASE_TYPE_CHOICES', 'Value must be one of {0, 1}.');
  else if (!(type === 1 ? state.members : state.roles).has(id)) {
    throw new ApiError(404, type === 1 ? 10007 : 10011, type === 1 ? 'Unknown Member' : 'Unknown Role');
  }
  errors.throwIfAny();
  const bits = (key: string) =>
    BigInt(/^\d+$/.test(String(body[key] ?? '0')) ? String(body[key] ?? '0') : '0');
  const overwrite: OverwriteState = { id, type: type ?? 0, allow: bits('allow'), deny: bits('deny') };
  channel.overwrites = [...channel.overwrites.filter((o) => o.id !== id), overwrite];
  dispatch(state, 'CHANNEL_UPDATE', channelPayload(state, channel), Intent.Guilds);
  return noContent();
}

/** `PATCH /channels/{id}`: a thread's name and archive state, or a text channel's name and overwrites. */
function modifyChannel(state: EmulatorState, context: RouteContext): RouteResult {
  const channel = channelFor(state, context);
  if (!isObject(context.body)) throw invalidJson();
  const body = context.body;
  const errors = new FormErrors();
  if (body.name !== undefined) {
    if (typeof body.name === 'string') checkBetween(errors, ['name'], body.name, 1, 100);
    else errors.add(['name'], 'BASE_TYPE_STRING', 'Must be a string.');
  }
  if (
    body.auto_archive_duration !== undefined &&
    !AUTO_ARCHIVE_DURATIONS.has(Number(body.auto_archive_duration))
  ) {
    errors.add(
      ['auto_archive_duration'],
      'BASE_TYPE_CHOICES',
      'Value must be one of {60, 1440, 4320, 10080}.',
    );
  }
  errors.throwIfAny();
  if (channel.thread) modifyThread(state, channel, body);
  else modifyTextChannel(state, channel, body);
  return ok(channelPayload(state, channel));
}

/** A thread's owner may rename and (un)archive it; locking it, or touching another's, needs Manage Threads. */
function modifyThread(state: EmulatorState, channel: ChannelState, body: JsonObject): void {
  const thread = channel.thread;
  if (!thread) return;
  const ownsThread = channel.ownerId === state.botUserId;
  const canManage = hasPermission(botPermissions(state), Permission.ManageThreads);
  if ((!ownsThread && !canManage) || (body.locked !== undefined && !canManage)) throw missingPermissions();
  if (typeof body.name === 'string') channel.name = body.name;
  if (typeof body.archived === 'boolean' && body.archived !== thread.archived) {
    thread.archived = body.archived;
    thread.archiveTimestamp = nowIso();
  }
  if (typeof body.locked === 'boolean') thread.locked = body.locked;
  if (body.auto_archive_duration !== undefined) {
    thread.autoArchiveDuration = Number(body.auto_archive_duration);
  }
  dispatch(state, 'THREAD_UPDATE', channelPayload(state, channel), Intent.Guilds);
}

/** A text channel: Manage Channels to rename it, Manage Roles too to replace its overwrites. */
function modifyTextChannel(state: EmulatorState, channel: ChannelState, body: JsonObject): void {
  if (channel.type === ChannelType.DM) throw wrongChannelType();
  requireBotPermission(state, channel, Permission.ManageChannels);
  if (Array.isArray(body.permission_overwrites)) {
    requireBotPermission(state, channel, Permission.ManageRoles);
    const overwrites = body.permission_overwrites.filter(isObject);
    const errors = new FormErrors();
    overwrites.forEach((overwrite, index) => {
      const known = overwrite.type === 1 ? state.members : state.roles;
      if (!known.has(String(overwrite.id))) {
        errors.add(['permission_overwrites', index, 'id'], 'UNKNOWN_OVERWRITE', 'Unknown role or member');
      }
      for (const key of ['allow', 'deny']) {
        if (overwrite[key] !== undefined && !/^\d+$/.test(String(overwrite[key]))) {
          errors.add(['permission_overwrites', index, key], 'NUMBER_TYPE_COERCE', 'Not a bitfield');
        }
      }
    });
    errors.throwIfAny();
    channel.overwrites = overwrites.map((overwrite) =>
      overwriteState(state, {
        id: String(overwrite.id),
        type: overwrite.type === 1 ? 1 : 0,
        allow: BigInt(String(overwrite.allow ?? '0')),
        deny: BigInt(String(overwrite.deny ?? '0')),
      }),
    );
  }
  if (typeof body.name === 'string') channel.name = body.name;
  dispatch(state, 'CHANNEL_UPDATE', channelPayload(state, channel), Intent.Guilds);
}
