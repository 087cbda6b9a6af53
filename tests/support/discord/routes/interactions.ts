/** Routes for answering interactions: the callback, and follow-ups through the interaction webhook. */

import { CallbackType, InteractionType, MessageFlag, MessageType } from '../constants.ts';
import { interactionByToken, interactionMetadata } from '../interactions.ts';
import { editMessage, postMessage } from '../messages.ts';
import type { EmulatorState, JsonObject, Route, RouteContext, RouteResult } from '../model.ts';
import { restMessage } from '../payloads.ts';
import {
  ApiError,
  invalidJson,
  noContent,
  ok,
  unknownInteraction,
  unknownMessage,
  unknownWebhook,
} from '../results.ts';
import { findMessage, requireChannel, requireUser } from '../state.ts';
import type { EmulatedMessage } from '../types.ts';
import { isObject, payloadRecord } from '../util.ts';
import { FormErrors, readOutgoing, validateOutgoing } from '../validation.ts';
import { route } from './table.ts';

export const interactionRoutes: Route[] = [
  route('POST', '/interactions/:interaction/:token/callback', interactionCallback, {
    auth: false,
    exemptFromGlobal: true,
  }),
];

/**
 * `POST /interactions/{id}/{token}/callback`: the first answer to an interaction (within the ack
 * timeout): a message (or a deferred "thinking" one), an update of the clicked message, autocomplete
 * choices or a modal; `with_response=true` answers with the resulting message.
 */
function interactionCallback(state: EmulatorState, context: RouteContext): RouteResult {
  const interaction = state.interactionStates.get(context.param('interaction'));
  if (!interaction || interaction.record.token !== context.param('token')) throw unknownInteraction();
  if (interaction.acknowledged) throw new ApiError(400, 40060, 'Interaction has already been acknowledged.');
  // Discord forgets interactions that were not answered within 3 seconds.
  if (Date.now() - interaction.createdAt > state.interactionAckTimeoutMs) throw unknownInteraction();
  if (!isObject(context.body)) throw invalidJson();
  const type = Number(context.body.type);
  const data = isObject(context.body.data) ? context.body.data : undefined;
  const channel = requireChannel(state, interaction.record.channelId);
  const isComponent = interaction.record.type === InteractionType.MessageComponent;
  let message: EmulatedMessage | undefined;
  switch (type) {
    case CallbackType.ChannelMessage:
    case CallbackType.DeferredChannelMessage: {
      const outgoing = readOutgoing(data);
      const deferred = type === CallbackType.DeferredChannelMessage;
      if (!deferred) validateOutgoing(outgoing, context.files, { isEdit: false });
      const ephemeral = ((outgoing.flags ?? 0) & MessageFlag.Ephemeral) !== 0;
      message = postMessage(state, {
        channel,
        author: requireUser(state, state.botUserId),
        outgoing: deferred ? { flags: outgoing.flags ?? 0, hasStickersOrPoll: false } : outgoing,
        files: deferred ? [] : context.files,
        authorIsBot: true,
        webhookId: state.applicationId,
        type: isComponent ? MessageType.Default : MessageType.ChatInputCommand,
        interactionMetadata: interactionMetadata(state, interaction),
        ephemeral,
        extraFlags: deferred ? MessageFlag.Loading : 0,
      });
      interaction.loading = deferred;
      interaction.originalMessageId = message.id;
      interaction.messageIds.add(message.id);
      break;
    }
    case CallbackType.DeferredUpdateMessage:
    case CallbackType.UpdateMessage: {
      if (!isComponent || !interaction.componentMessageId) {
        const errors = new FormErrors();
        errors.add(['type'], 'INTERACTION_RESPONSE_TYPE_INVALID', 'Invalid interaction response type');
        errors.throwIfAny();
      }
      const target = findMessage(state, interaction.componentMessageId ?? '');
      if (!target) throw unknownMessage();
      if (type === CallbackType.UpdateMessage) editMessage(state, target, data, context.files);
      interaction.originalMessageId = target.id;
      interaction.messageIds.add(target.id);
      message = target;
      break;
    }
    case CallbackType.AutocompleteResult: {
      const choices = data?.choices;
      const errors = new FormErrors();
      if (interaction.record.type !== InteractionType.Autocomplete)
        errors.add(['type'], 'INTERACTION_RESPONSE_TYPE_INVALID', 'Invalid interaction response type');
      else if (!Array.isArray(choices) || choices.length > 25)
        errors.add(['data', 'choices'], 'BASE_TYPE_MAX_LENGTH', 'Must be 25 or fewer in length.');
      errors.throwIfAny();
      break;
    }
    case CallbackType.Modal:
      break;
    default: {
      const errors = new FormErrors();
      errors.add(['type'], 'BASE_TYPE_CHOICES', 'Invalid interaction response type');
      errors.throwIfAny();
    }
  }
  interaction.acknowledged = true;
  interaction.record.responses.push(data === undefined ? { type } : { type, data: payloadRecord(data) });
  if (context.query.with_response !== 'true') return noContent();
  const summary: JsonObject = { id: interaction.record.id, type: interaction.record.type };
  const resource: JsonObject = { type };
  if (message) {
    summary.response_message_id = message.id;
    summary.response_message_loading = interaction.loading;
    summary.response_message_ephemeral = (message.flags & MessageFlag.Ephemeral) !== 0;
    resource.message = restMessage(message);
  }
  return ok({ interaction: summary, resource });
}

/** `POST /webhooks/{app}/{token}`: a follow-up; the first after a deferred reply fills that reply in. */
export function interactionFollowup(state: EmulatorState, context: RouteContext): RouteResult {
  const interaction = interactionByToken(state, context.param('token'));
  if (!interaction.acknowledged) throw unknownWebhook();
  const outgoing = readOutgoing(context.body);
  validateOutgoing(outgoing, context.files, { isEdit: false });
  interaction.record.followups.push(payloadRecord(context.body));
  const original = interaction.originalMessageId
    ? findMessage(state, interaction.originalMessageId)
    : undefined;
  if (interaction.loading && original) {
    // Discord: the first follow-up after a deferred reply fills in the "thinking" message.
    interaction.loading = false;
    return ok(restMessage(editMessage(state, original, context.body, context.files)));
  }
  const message = postMessage(state, {
    channel: requireChannel(state, interaction.record.channelId),
    author: requireUser(state, state.botUserId),
    outgoing,
    files: context.files,
    authorIsBot: true,
    webhookId: state.applicationId,
    interactionMetadata: interactionMetadata(state, interaction),
    ephemeral: ((outgoing.flags ?? 0) & MessageFlag.Ephemeral) !== 0,
  });
  interaction.messageIds.add(message.id);
  return ok(restMessage(message));
}
