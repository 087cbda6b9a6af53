/**
 * The gateway: websocket sessions (HELLO, IDENTIFY, RESUME, heartbeats, member requests), and the
 * dispatch of events to them, sequenced per session, kept for RESUME, filtered by intents, with
 * message content blanked per Discord's Message Content rule.
 */

import type { RawData, WebSocket } from 'ws';
import { GATEWAY_BACKLOG, HEARTBEAT_INTERVAL_MS, Intent } from './constants.ts';
import type { EmulatorState, GatewayConnection, GatewaySession, JsonObject } from './model.ts';
import { blanked, canSeeContent, gatewayMessage, guildCreatePayload, memberPayload } from './payloads.ts';
import { botCan, Permission } from './permissions.ts';
import { gatewayUrl, requireUser, shardOf } from './state.ts';
import type { DispatchRecord, EmulatedMessage } from './types.ts';
import { isObject, randomToken } from './util.ts';

/** Whether a gateway session is identified and connected. */
export function isConnected(state: EmulatorState): boolean {
  return [...state.sessions.values()].some((session) => session.socket !== undefined);
}

/** A new websocket: HELLO, then identify/resume/heartbeat/member requests as they come. */
export function onGatewayConnection(state: EmulatorState, socket: WebSocket): void {
  state.sockets.add(socket);
  const connection: GatewayConnection = { socket, session: undefined };
  socket.on('message', (data: RawData) => onGatewayPayload(state, connection, data));
  socket.on('close', (code: number) => {
    state.sockets.delete(socket);
    const session = connection.session;
    if (session?.socket !== socket) return;
    session.socket = undefined;
    // Discord: a client closing with 1000 or 1001 ends its session (the bot goes offline and
    // cannot resume); other closes leave it resumable, events queueing for RESUME.
    if ((code === 1000 || code === 1001) && !state.closedByServer.has(socket)) {
      state.sessions.delete(session.id);
    }
  });
  socket.on('error', () => socket.terminate());
  // Payloads go out as JSON text frames even if zlib-stream was asked for: discord.js parses
  // text frames as plain JSON regardless of the compression it negotiated.
  sendFrame(socket, { op: 10, d: { heartbeat_interval: HEARTBEAT_INTERVAL_MS }, s: null, t: null });
}

function sendFrame(socket: WebSocket, payload: unknown): void {
  if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(payload));
}

/** One payload from a client, by op code: 1 heartbeat, 2 identify, 6 resume, 8 request members. */
function onGatewayPayload(state: EmulatorState, connection: GatewayConnection, data: RawData): void {
  let payload: unknown;
  try {
    payload = JSON.parse(data.toString());
  } catch {
    connection.socket.close(4002, 'Error while decoding payload.');
    return;
  }
  if (!isObject(payload) || typeof payload.op !== 'number') {
    connection.socket.close(4002, 'Error while decoding payload.');
    return;
  }
  state.gatewayReceived.push({ op: payload.op, at: Date.now() });
  const d = isObject(payload.d) ? payload.d : {};
  switch (payload.op) {
    case 1:
      sendFrame(connection.socket, { op: 11, d: null, s: null, t: null });
      return;
    case 2:
      identify(state, connection, d);
      return;
    case 6:
      resume(state, connection, d);
      return;
    case 3:
    case 4:
      if (!connection.session) connection.socket.close(4003, 'Not authenticated.');
      return;
    case 8:
      if (!connection.session) connection.socket.close(4003, 'Not authenticated.');
      else sendMembersChunk(state, connection.session, d);
      return;
    default:
      connection.socket.close(4001, 'Unknown opcode.');
  }
}

/** `[shard_id, num_shards]` as IDENTIFY gives it (none: `[0, 1]`), or undefined when it is not one. */
function shardOfIdentify(d: JsonObject): [number, number] | undefined {
  if (d.shard === undefined) return [0, 1];
  const [id, count] = Array.isArray(d.shard) ? d.shard : [];
  const valid = Number.isInteger(id) && Number.isInteger(count) && id >= 0 && count >= 1 && id < count;
  return valid ? [id, count] : undefined;
}

/** Whether a session gets the events of a server (`undefined`: a DM, which Discord sends to shard 0). */
export function receives(session: GatewaySession, guildId: string | undefined): boolean {
  const [id, count] = session.shard;
  return guildId === undefined ? id === 0 : shardOf(guildId, count) === id;
}

/**
 * IDENTIFY: a new session, READY, then GUILD_CREATE for sessions with the Guilds intent, for each
 * server of the session's shard (`(guild_id >> 22) % num_shards == shard_id`).
 */
function identify(state: EmulatorState, connection: GatewayConnection, d: JsonObject): void {
  if (connection.session) {
    connection.socket.close(4005, 'Already authenticated.');
    return;
  }
  if (d.token !== state.token) {
    connection.socket.close(4004, 'Authentication failed.');
    return;
  }
  if (typeof d.intents !== 'number') {
    connection.socket.close(4013, 'Invalid intent(s).');
    return;
  }
  const shard = shardOfIdentify(d);
  if (!shard) {
    connection.socket.close(4010, 'Invalid shard.');
    return;
  }
  const session: GatewaySession = {
    id: randomToken(16),
    intents: d.intents,
    shard,
    seq: 0,
    socket: connection.socket,
    backlog: [],
  };
  state.sessions.set(session.id, session);
  state.identified.push({ shard, at: Date.now() });
  connection.session = session;
  const guilds = [...state.guilds.keys()].filter((guildId) => receives(session, guildId));
  sendDispatch(session, 'READY', {
    v: 10,
    user: { ...requireUser(state, state.botUserId), verified: true, mfa_enabled: false, flags: 0 },
    guilds: guilds.map((id) => ({ id, unavailable: true })),
    session_id: session.id,
    resume_gateway_url: gatewayUrl(state),
    shard,
    application: { id: state.applicationId, flags: 0 },
    private_channels: [],
    relationships: [],
    presences: [],
  });
  if (session.intents & Intent.Guilds) {
    for (const guildId of guilds) sendDispatch(session, 'GUILD_CREATE', guildCreatePayload(state, guildId));
  }
}

/** RESUME: the session's missed events replayed, then RESUMED; op 9 for an unknown session. */
function resume(state: EmulatorState, connection: GatewayConnection, d: JsonObject): void {
  const session = typeof d.session_id === 'string' ? state.sessions.get(d.session_id) : undefined;
  if (!session || d.token !== state.token) {
    sendFrame(connection.socket, { op: 9, d: false, s: null, t: null });
    return;
  }
  const since = typeof d.seq === 'number' ? d.seq : 0;
  session.socket?.close(4009, 'Session resumed elsewhere.');
  session.socket = connection.socket;
  connection.session = session;
  for (const event of session.backlog) if (event.s > since) sendFrame(connection.socket, event);
  sendDispatch(session, 'RESUMED', {});
}

/** REQUEST_GUILD_MEMBERS: one GUILD_MEMBERS_CHUNK, by ids or by username prefix. */
function sendMembersChunk(state: EmulatorState, session: GatewaySession, d: JsonObject): void {
  const wanted = Array.isArray(d.user_ids)
    ? d.user_ids.map(String)
    : typeof d.user_ids === 'string'
      ? [d.user_ids]
      : undefined;
  const guildId = typeof d.guild_id === 'string' && state.guilds.has(d.guild_id) ? d.guild_id : state.guildId;
  const query = typeof d.query === 'string' ? d.query.toLowerCase() : '';
  const limit = typeof d.limit === 'number' && d.limit > 0 ? d.limit : Number.POSITIVE_INFINITY;
  const ids = [...state.members.keys()]
    .filter((id) =>
      wanted ? wanted.includes(id) : requireUser(state, id).username.toLowerCase().startsWith(query),
    )
    .slice(0, limit);
  const chunk: JsonObject = {
    guild_id: guildId,
    members: ids.map((id) => memberPayload(state, id, guildId)),
    chunk_index: 0,
    chunk_count: 1,
  };
  const notFound = wanted?.filter((id) => !state.members.has(id)) ?? [];
  if (notFound.length > 0) chunk.not_found = notFound;
  if (typeof d.nonce === 'string') chunk.nonce = d.nonce;
  sendDispatch(session, 'GUILD_MEMBERS_CHUNK', chunk);
}

/** Sequences an event for a session; sent now if connected, replayed on RESUME otherwise. */
function sendDispatch(session: GatewaySession, t: string, d: unknown): void {
  session.seq += 1;
  const frame = { op: 0 as const, t, s: session.seq, d };
  session.backlog.push(frame);
  if (session.backlog.length > GATEWAY_BACKLOG) session.backlog.shift();
  if (session.socket) sendFrame(session.socket, frame);
}

/**
 * An event for every session with `intent` (all sessions without one) whose shard holds its server
 * (`guildId`, else the payload's `guild_id`; none: shard 0's), recorded in `events`.
 */
export function dispatch(
  state: EmulatorState,
  t: string,
  d: unknown,
  intent?: number,
  guildId = isObject(d) && typeof d.guild_id === 'string' ? d.guild_id : undefined,
): void {
  if (state.building) return;
  const record: DispatchRecord = { t, d, at: Date.now(), sessions: [] };
  state.events.push(record);
  for (const session of state.sessions.values()) {
    if (intent !== undefined && (session.intents & intent) === 0) continue;
    if (!receives(session, guildId)) continue;
    sendDispatch(session, t, d);
    record.sessions.push(session.id);
  }
}

/** MESSAGE_CREATE/UPDATE, with content blanked per session when Message Content is missing. */
export function dispatchMessage(
  state: EmulatorState,
  t: 'MESSAGE_CREATE' | 'MESSAGE_UPDATE',
  message: EmulatedMessage,
): void {
  const intent = message.guild_id ? Intent.GuildMessages : Intent.DirectMessages;
  const wire = gatewayMessage(state, message);
  const record: DispatchRecord = { t, d: wire, at: Date.now(), sessions: [] };
  state.events.push(record);
  const channel = state.channels.get(message.channel_id);
  // The gateway sends messages only from channels the bot can view.
  if (message.guild_id && channel && !botCan(state, channel, Permission.ViewChannel)) return;
  for (const session of state.sessions.values()) {
    if ((session.intents & intent) === 0 || !receives(session, message.guild_id)) continue;
    const sessionHasIntent = (session.intents & Intent.MessageContent) !== 0;
    sendDispatch(session, t, canSeeContent(state, message, sessionHasIntent) ? wire : blanked(wire));
    record.sessions.push(session.id);
  }
}

/**
 * Drops every gateway connection with this close code. 4000 (default) makes discord.js resume:
 * events dispatched meanwhile are replayed on RESUME, as Discord does.
 */
export function dropGateway(state: EmulatorState, code = 4000): void {
  for (const socket of state.sockets) {
    state.closedByServer.add(socket);
    socket.close(code, 'Dropped by the emulator');
  }
}
