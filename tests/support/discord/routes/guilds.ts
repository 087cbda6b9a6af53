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
  route('GET', '/guilds/:guild', (state, c) => ok(guildPayload(state, guildFor(state, c)))),
  route('GET', '/guilds/:guild/channels', (state, c) => {
    const guildId = guildFor(state, c);
    const channels = [...state.channels.values()].filter(
      (channel) => channel.type === ChannelType.GuildText && channel.guildId === guildId,
    );
    return ok(channels.map((channel) => channelPayload(state, channel)));
  }),
  route('GET', '/guilds/:guild/roles', (state, c) => {
    const guildId = guildFor(state, c);
    const roles = [...state.roles.values()].filter((role) => role.guildId === guildId);
    return ok(roles.map((role) => rolePayload(role)));
  }),
  route('GET', '/guilds/:guild/threads/active', (state, c) => {
    const guildId = guildFor(state, c);
    const active = [...state.channels.values()].filter(
      (channel) =>
        channel.guildId === guildId &&
        channel.thread &&
        !channel.thread.archived &&
        botCan(state, channel, Permission.ViewChannel),
    );
    return ok({
      threads: active.map((channel) => channelPayload(state, channel)),
      members: botThreadMembers(state, active),
    });
  }),
  route('GET', '/guilds/:guild/members/:user', (state, c) => {
    const guildId = guildFor(state, c);
    const userId = c.param('user') === '@me' ? state.botUserId : c.param('user');
    if (!state.members.has(userId)) throw new ApiError(404, 10007, 'Unknown Member');
    return ok(memberPayload(state, userId, guildId));
  }),
  route('GET', '/guilds/:guild/webhooks', (state, c) => {
    const guildId = guildFor(state, c);
    if (!hasPermission(botPermissions(state, guildId), Permission.ManageWebhooks)) throw missingPermissions();
    const webhooks = [...state.webhookStates.values()].filter(
      (webhook) => state.channels.get(webhook.channelId)?.guildId === guildId,
    );
    return ok(webhooks.map((webhook) => webhookPayload(state, webhook, true)));
  }),
];

/** The server `:guild` names; 404 Unknown Guild for one the emulator does not have. */
export function guildFor(state: EmulatorState, context: RouteContext): string {
  const guildId = context.param('guild');
  if (!state.guilds.has(guildId)) throw unknownGuild();
  return guildId;
}
