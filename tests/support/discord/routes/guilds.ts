/** Routes for the guild: itself, its channels, roles, active threads, members and webhooks. */

import { ChannelType } from '../constants.ts';
import type { EmulatorState, Route, RouteContext } from '../model.ts';
import {
  botThreadMembers,
  channelPayload,
  guildPayload,
  memberPayload,
  rolePayload,
  webhookPayload,
} from '../payloads.ts';
import { botCan, botPermissions, hasPermission, Permission } from '../permissions.ts';
import { ApiError, missingPermissions, ok, unknownGuild } from '../results.ts';
import { route } from './table.ts';

export const guildRoutes: Route[] = [
  route('GET', '/guilds/:guild', (state, c) => {
    guildFor(state, c);
    return ok(guildPayload(state));
  }),
  route('GET', '/guilds/:guild/channels', (state, c) => {
    guildFor(state, c);
    const channels = [...state.channels.values()].filter((channel) => channel.type === ChannelType.GuildText);
    return ok(channels.map((channel) => channelPayload(state, channel)));
  }),
  route('GET', '/guilds/:guild/roles', (state, c) => {
    guildFor(state, c);
    return ok([...state.roles.values()].map((role) => rolePayload(role)));
  }),
  route('GET', '/guilds/:guild/threads/active', (state, c) => {
    guildFor(state, c);
    const active = [...state.channels.values()].filter(
      (channel) =>
        channel.thread && !channel.thread.archived && botCan(state, channel, Permission.ViewChannel),
    );
    return ok({
      threads: active.map((channel) => channelPayload(state, channel)),
      members: botThreadMembers(state, active),
    });
  }),
  route('GET', '/guilds/:guild/members/:user', (state, c) => {
    guildFor(state, c);
    const userId = c.param('user') === '@me' ? state.botUserId : c.param('user');
    if (!state.members.has(userId)) throw new ApiError(404, 10007, 'Unknown Member');
    return ok(memberPayload(state, userId));
  }),
  route('GET', '/guilds/:guild/webhooks', (state, c) => {
    guildFor(state, c);
    if (!hasPermission(botPermissions(state), Permission.ManageWebhooks)) throw missingPermissions();
    return ok([...state.webhookStates.values()].map((webhook) => webhookPayload(state, webhook, true)));
  }),
];

/** 404 Unknown Guild unless `:guild` is the emulator's guild. */
export function guildFor(state: EmulatorState, context: RouteContext): void {
  if (context.param('guild') !== state.guildId) throw unknownGuild();
}
