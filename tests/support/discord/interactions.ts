/**
 * Interactions: the state of one a member started (slash command, autocomplete, button), its
 * INTERACTION_CREATE payload with resolved options, and the lookups the interaction routes use.
 */

import { MAX_FILE_BYTES } from './constants.ts';
import { dispatch, isConnected } from './gateway.ts';
import type { ChannelState, EmulatorState, InteractionState, JsonObject } from './model.ts';
import { channelPayload, memberPayload, rolePayload } from './payloads.ts';
import { ALL_PERMISSIONS, botPermissions, permissionsIn, permissionsOf } from './permissions.ts';
import { invalidWebhookToken, unknownWebhook } from './results.ts';
import { requireChannel, requireUser, snowflake } from './state.ts';
import { randomToken } from './util.ts';

/** A new interaction a member started in `channel`, not yet dispatched. */
export function newInteraction(
  state: EmulatorState,
  type: number,
  userId: string,
  channel: ChannelState,
): InteractionState {
  const interaction: InteractionState = {
    record: {
      id: snowflake(state),
      token: `aW50ZXJhY3Rpb246${randomToken(96)}`,
      type,
      channelId: channel.id,
      userId,
      responses: [],
      edits: [],
      followups: [],
    },
    createdAt: Date.now(),
    acknowledged: false,
    loading: false,
    messageIds: new Set(),
  };
  if (channel.guildId) interaction.guildId = channel.guildId;
  state.interactionStates.set(interaction.record.id, interaction);
  return interaction;
}

/** One option of a command a member runs, its type from the command's definition (else inferred). */
export function commandOption(
  state: EmulatorState,
  name: string,
  value: string | number | boolean,
  definitions: JsonObject[],
  resolved: Record<string, JsonObject>,
  guildId = state.guildId,
): JsonObject {
  const declared = definitions.find((definition) => definition.name === name)?.type;
  const inferred =
    typeof value === 'string' ? 3 : typeof value === 'boolean' ? 5 : Number.isInteger(value) ? 4 : 10;
  const type = typeof declared === 'number' ? declared : inferred;
  const id = String(value);
  const add = (key: string, entryId: string, entry: unknown) => {
    const bucket = resolved[key] ?? {};
    bucket[entryId] = entry;
    resolved[key] = bucket;
  };
  // USER (6), CHANNEL (7), ROLE (8) and MENTIONABLE (9) options carry ids plus `resolved` data.
  if ((type === 6 || type === 9) && state.users.has(id)) {
    add('users', id, state.users.get(id));
    if (state.members.has(id)) {
      const { user: _user, ...member } = memberPayload(state, id, guildId);
      add('members', id, { ...member, permissions: permissionsOf(state, id, guildId).toString() });
    }
  } else if ((type === 8 || type === 9) && state.roles.has(id)) {
    add('roles', id, rolePayload(state.roles.get(id)!));
  } else if (type === 7 && state.channels.has(id)) {
    add('channels', id, {
      ...channelPayload(state, state.channels.get(id)!),
      permissions: ALL_PERMISSIONS.toString(),
    });
  }
  return { name, type, value: type >= 6 && type <= 9 ? id : value };
}

/** INTERACTION_CREATE for an interaction, as Discord sends it in a guild channel or a DM. */
export function dispatchInteraction(
  state: EmulatorState,
  interaction: InteractionState,
  extra: JsonObject,
): void {
  if (!isConnected(state)) throw new Error('no gateway session is connected: log the client in first');
  const { record } = interaction;
  const channel = requireChannel(state, record.channelId);
  const payload: JsonObject = {
    id: record.id,
    application_id: state.applicationId,
    type: record.type,
    token: record.token,
    version: 1,
    channel_id: channel.id,
    channel: channelPayload(state, channel),
    app_permissions: (channel.guildId
      ? permissionsIn(state, state.botUserId, channel)
      : botPermissions(state)
    ).toString(),
    locale: 'en-US',
    entitlements: [],
    attachment_size_limit: MAX_FILE_BYTES,
    ...extra,
  };
  if (channel.guildId) {
    payload.guild_id = channel.guildId;
    payload.guild = { id: channel.guildId, locale: 'en-US', features: [] };
    payload.guild_locale = 'en-US';
    payload.member = {
      ...memberPayload(state, record.userId, channel.guildId),
      permissions: permissionsIn(state, record.userId, channel).toString(),
    };
    payload.authorizing_integration_owners = { '0': channel.guildId };
    payload.context = 0;
  } else {
    payload.user = requireUser(state, record.userId);
    payload.authorizing_integration_owners = { '0': channel.guildId ?? state.guildId };
    payload.context = 1;
  }
  dispatch(state, 'INTERACTION_CREATE', payload);
}

/** `interaction_metadata` of messages created by an interaction's responses. */
export function interactionMetadata(state: EmulatorState, interaction: InteractionState): JsonObject {
  const metadata: JsonObject = {
    id: interaction.record.id,
    type: interaction.record.type,
    user: requireUser(state, interaction.record.userId),
    authorizing_integration_owners: { '0': interaction.guildId ?? state.guildId },
  };
  if (interaction.originalMessageId) metadata.original_response_message_id = interaction.originalMessageId;
  if (interaction.componentMessageId) metadata.interacted_message_id = interaction.componentMessageId;
  return metadata;
}

/** The interaction a webhook token names (10015 if none; 50027 once the token has expired). */
export function interactionByToken(state: EmulatorState, token: string): InteractionState {
  const interaction = [...state.interactionStates.values()].find(
    (candidate) => candidate.record.token === token,
  );
  if (!interaction) throw unknownWebhook();
  if (Date.now() - interaction.createdAt > state.interactionTokenLifetimeMs) throw invalidWebhookToken();
  return interaction;
}
