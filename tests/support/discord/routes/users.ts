/** Routes for gateway discovery, users and DMs, and the bot's own application. */

import type { EmulatorState, Route, RouteContext, RouteResult } from '../model.ts';
import { channelPayload } from '../payloads.ts';
import { ApiError, ok } from '../results.ts';
import { dmChannelFor, gatewayUrl, requireUser } from '../state.ts';
import { isObject } from '../util.ts';
import { route } from './table.ts';

/** Discord's usual daily allowance of gateway session starts. */
const SESSION_STARTS_PER_DAY = 1000;

export const userRoutes: Route[] = [
  route('GET', '/gateway', (state) => ok({ url: gatewayUrl(state) }), { auth: false }),
  route('GET', '/gateway/bot', (state) => {
    // Discord counts a day's session starts; each IDENTIFY took one.
    const remaining = Math.max(0, SESSION_STARTS_PER_DAY - state.identified.length);
    return ok({
      url: gatewayUrl(state),
      shards: state.recommendedShards,
      session_start_limit: {
        total: SESSION_STARTS_PER_DAY,
        remaining,
        reset_after: 86_400_000,
        max_concurrency: state.maxConcurrency,
      },
    });
  }),
  route('GET', '/users/@me', (state) => ok(requireUser(state, state.botUserId))),
  route('POST', '/users/@me/channels', openDm),
  route('GET', '/users/:user', (state, c) => {
    const user = state.users.get(c.param('user'));
    if (!user) throw new ApiError(404, 10013, 'Unknown User');
    return ok(user);
  }),
  route('GET', '/applications/@me', (state) =>
    ok({
      id: state.applicationId,
      name: 'emulated-bot',
      description: '',
      icon: null,
      bot_public: true,
      bot_require_code_grant: false,
      flags: state.messageContentIntent ? 1 << 19 : 0,
      bot: requireUser(state, state.botUserId),
      owner: requireUser(state, state.ownerId),
    }),
  ),
];

/** `POST /users/@me/channels`: the DM channel with a user (made on first use). */
function openDm(state: EmulatorState, context: RouteContext): RouteResult {
  const body = isObject(context.body) ? context.body : {};
  const recipient = typeof body.recipient_id === 'string' ? body.recipient_id : '';
  if (!state.users.has(recipient)) throw new ApiError(404, 10013, 'Unknown User');
  return ok(channelPayload(state, dmChannelFor(state, recipient)));
}
