/**
 * Routes for webhooks: listing and creating a channel's, reading and deleting one, executing one
 * (messages, in threads with `thread_id`), and its messages. The bot's application id with an
 * interaction token makes these the interaction webhook (follow-ups, `@original`).
 */

import { ChannelType, Intent, MAX_WEBHOOKS_PER_CHANNEL } from '../constants.ts';
import { dispatch } from '../gateway.ts';
import { interactionByToken } from '../interactions.ts';
import { editMessage, postMessage, removeMessage } from '../messages.ts';
import type {
  ChannelState,
  EmulatorState,
  Route,
  RouteBucket,
  RouteContext,
  RouteResult,
  WebhookState,
} from '../model.ts';
import { restMessage, webhookPayload } from '../payloads.ts';
import { Permission, requireBotPermission } from '../permissions.ts';
import { BUCKET_PREFIX, checkChannelWebhookMessages, countChannelWebhookMessage } from '../rateLimits.ts';
import {
  ApiError,
  invalidWebhookToken,
  noContent,
  ok,
  unknownChannel,
  unknownMessage,
  unknownWebhook,
  wrongChannelType,
} from '../results.ts';
import { findMessage, requireChannel, snowflake } from '../state.ts';
import type { EmulatedMessage, EmulatedUser } from '../types.ts';
import { isObject, payloadRecord, randomToken, shortHash } from '../util.ts';
import { FormErrors, readOutgoing, validateOutgoing, validateWebhookName } from '../validation.ts';
import { deleteWebhook } from '../world.ts';
import { channelFor } from './channels.ts';
import { interactionFollowup } from './interactions.ts';
import { route } from './table.ts';

export const webhookRoutes: Route[] = [
  route('GET', '/channels/:channel/webhooks', (state, c) => {
    const channel = channelFor(state, c);
    requireBotPermission(state, channel, Permission.ManageWebhooks);
    return ok(
      [...state.webhookStates.values()]
        .filter((webhook) => webhook.channelId === channel.id)
        .map((webhook) => webhookPayload(state, webhook, true)),
    );
  }),
  route('POST', '/channels/:channel/webhooks', createWebhook),
  route('GET', '/webhooks/:webhook', (state, c) =>
    ok(webhookPayload(state, webhookFor(state, c, undefined), true)),
  ),
  route('DELETE', '/webhooks/:webhook', (state, c) => {
    requireBotPermission(
      state,
      requireChannel(state, webhookFor(state, c, undefined).channelId),
      Permission.ManageWebhooks,
    );
    deleteWebhook(state, c.param('webhook'));
    return noContent();
  }),
  route(
    'GET',
    '/webhooks/:webhook/:token',
    (state, c) => ok(webhookPayload(state, webhookFor(state, c, c.param('token')), false)),
    { auth: false },
  ),
  route('POST', '/webhooks/:webhook/:token', executeWebhook, { auth: false, bucket: webhookBucket }),
  route(
    'GET',
    '/webhooks/:webhook/:token/messages/:message',
    (state, c) => ok(restMessage(webhookMessage(state, c))),
    { auth: false },
  ),
  route('PATCH', '/webhooks/:webhook/:token/messages/:message', editWebhookMessage, {
    auth: false,
    bucket: webhookBucket,
  }),
  route(
    'DELETE',
    '/webhooks/:webhook/:token/messages/:message',
    (state, c) => {
      removeMessage(state, webhookMessage(state, c));
      return noContent();
    },
    { auth: false, bucket: webhookBucket },
  ),
];

/** A webhook's own bucket (executes, and edits and deletes of its messages); none for interactions. */
function webhookBucket(state: EmulatorState, context: RouteContext): ReturnType<RouteBucket> {
  const id = context.param('webhook');
  if (id === state.applicationId) return undefined;
  return { key: `${BUCKET_PREFIX.webhook}:${id}`, hash: shortHash('webhook-token'), kind: 'webhook' };
}

/** `POST /channels/{id}/webhooks`: a webhook of the bot's application (at most 15 a channel). */
function createWebhook(state: EmulatorState, context: RouteContext): RouteResult {
  const channel = channelFor(state, context);
  if (channel.type !== ChannelType.GuildText) throw wrongChannelType();
  requireBotPermission(state, channel, Permission.ManageWebhooks);
  const body = isObject(context.body) ? context.body : {};
  const errors = new FormErrors();
  const name = typeof body.name === 'string' ? body.name : '';
  validateWebhookName(errors, ['name'], name);
  errors.throwIfAny();
  const inChannel = [...state.webhookStates.values()].filter((webhook) => webhook.channelId === channel.id);
  if (inChannel.length >= MAX_WEBHOOKS_PER_CHANNEL) {
    throw new ApiError(400, 30007, 'Maximum number of webhooks reached (15)');
  }
  const webhook: WebhookState = {
    id: snowflake(state),
    token: randomToken(51),
    channelId: channel.id,
    name,
    avatar: typeof body.avatar === 'string' ? shortHash(body.avatar) : null,
    applicationId: state.applicationId,
    creatorId: state.botUserId,
  };
  state.webhookStates.set(webhook.id, webhook);
  dispatch(
    state,
    'WEBHOOKS_UPDATE',
    { guild_id: channel.guildId ?? state.guildId, channel_id: channel.id },
    Intent.GuildWebhooks,
  );
  return ok(webhookPayload(state, webhook, true));
}

/** A webhook by id; with a token, the token must match (401 50027 otherwise). */
function webhookFor(state: EmulatorState, context: RouteContext, token: string | undefined): WebhookState {
  const webhook = state.webhookStates.get(context.param('webhook'));
  if (!webhook) throw unknownWebhook();
  if (token !== undefined && webhook.token !== token) throw invalidWebhookToken();
  return webhook;
}

/** `POST /webhooks/{id}/{token}`: a webhook message (an interaction follow-up for the app's own id). */
function executeWebhook(state: EmulatorState, context: RouteContext): RouteResult {
  if (context.param('webhook') === state.applicationId) return interactionFollowup(state, context);
  const webhook = webhookFor(state, context, context.param('token'));
  const channel = webhookChannel(state, webhook, context);
  const outgoing = readOutgoing(context.body);
  validateOutgoing(outgoing, context.files, { isEdit: false });
  checkChannelWebhookMessages(state, webhook.channelId);
  const author: EmulatedUser = {
    id: webhook.id,
    username: outgoing.username ?? webhook.name,
    discriminator: '0000',
    avatar: outgoing.avatar_url ? shortHash(outgoing.avatar_url) : webhook.avatar,
    bot: true,
  };
  const message = postMessage(state, {
    channel,
    author,
    outgoing,
    files: context.files,
    authorIsBot: true,
    webhookId: webhook.id,
  });
  countChannelWebhookMessage(state, webhook.channelId);
  return context.query.wait === 'true' ? ok(restMessage(message)) : noContent();
}

/** Where a webhook route acts: the thread `thread_id` names (a child of the webhook's channel), else the webhook's channel. */
function webhookChannel(state: EmulatorState, webhook: WebhookState, context: RouteContext): ChannelState {
  const threadId = context.query.thread_id;
  if (threadId === undefined) return requireChannel(state, webhook.channelId);
  const thread = state.channels.get(threadId);
  if (!thread?.thread || thread.parentId !== webhook.channelId) throw unknownChannel();
  return thread;
}

/**
 * The message a webhook-token route names: an interaction's, or a regular webhook's own message
 * in the channel searched (the `thread_id` thread, else the webhook's channel), 10008 otherwise.
 */
function webhookMessage(state: EmulatorState, context: RouteContext): EmulatedMessage {
  const messageId = context.param('message');
  if (context.param('webhook') === state.applicationId) {
    const interaction = interactionByToken(state, context.param('token'));
    const id = messageId === '@original' ? interaction.originalMessageId : messageId;
    if (!id || !interaction.messageIds.has(id)) throw unknownMessage();
    const message = findMessage(state, id);
    if (!message) throw unknownMessage();
    return message;
  }
  const webhook = webhookFor(state, context, context.param('token'));
  const channel = webhookChannel(state, webhook, context);
  const message = state.channelMessages.get(channel.id)?.find((candidate) => candidate.id === messageId);
  if (!message || message.webhook_id !== webhook.id) throw unknownMessage();
  return message;
}

/** `PATCH /webhooks/{id}/{token}/messages/{id}`: also an interaction response's edit. */
function editWebhookMessage(state: EmulatorState, context: RouteContext): RouteResult {
  const message = webhookMessage(state, context);
  if (context.param('webhook') === state.applicationId) {
    const interaction = interactionByToken(state, context.param('token'));
    interaction.record.edits.push(payloadRecord(context.body));
    if (message.id === interaction.originalMessageId) interaction.loading = false;
  }
  return ok(restMessage(editMessage(state, message, context.body, context.files)));
}
