// Over 400 lines on purpose: this file is the emulator's whole public API (every method a test calls,
// with its documentation) and nothing else; each body delegates to the modules in ./discord/.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import * as driver from './discord/driver.ts';
import * as gateway from './discord/gateway.ts';
import { handleHttp } from './discord/http.ts';
import type { EmulatorState, JsonObject, RateLimitKind } from './discord/model.ts';
import { commandPayload, threadSummary, webhookSummary } from './discord/payloads.ts';
import { botPermissions, permissionsIn } from './discord/permissions.ts';
import * as rateLimits from './discord/rateLimits.ts';
import { ROUTES } from './discord/routes/index.ts';
import { baseUrl, createState, findMessage, gatewayUrl, requireChannel, shardOf } from './discord/state.ts';
import type {
  ChannelOverwrite,
  DiscordEmulatorOptions,
  DispatchRecord,
  EmulatedGuild,
  EmulatedMessage,
  EmulatedWebhook,
  FaultRule,
  InteractionRecord,
  MessageEdit,
  RateLimit,
  RateLimitOptions,
  RateLimitRecord,
  RequestRecord,
} from './discord/types.ts';
import { waitFor } from './discord/util.ts';
import * as world from './discord/world.ts';

export { Intent } from './discord/constants.ts';
export { DEFAULT_BOT_PERMISSIONS, DEFAULT_MEMBER_PERMISSIONS, Permission } from './discord/permissions.ts';
export type * from './discord/types.ts';
export { DEFAULT_RATE_LIMITS } from './discord/types.ts';

/** The shard that receives a server's events, of `shardCount`: `(guild_id >> 22) % shardCount`. */
export const shardOfGuild = shardOf;

/**
 * A loopback Discord: REST API v10 over HTTP and a WebSocket gateway, both on 127.0.0.1, faithful
 * enough that the unmodified discord.js v14 `Client` logs in and a bot can be tested end to end
 * (docs/DISCORD.md, "What a loopback emulator needs so the real discord.js client works").
 *
 * One guild, one default text channel ('general'), a bot user and a guild owner exist from the
 * start; `createGuild` adds servers, each with its 'general', and a gateway session that IDENTIFYs
 * with `shard: [id, count]` gets only the events of the servers its shard holds
 * (`(guild_id >> 22) % count == id`; DMs go to shard 0), as on Discord. Tests drive users through `userSays`, `userDMs`, `runCommand`, `clickButton`, `react`, inspect what
 * the bot did through `messages`, `edits`, `threads`, `webhooks`, `interaction`, `requests`,
 * `events` and `rateLimited`, and inject faults with `failNext`, `deleteWebhook`,
 * `setBotPermissions`, channel overwrites (`hideChannelFrom`), attachments whose download
 * misbehaves, and `dropGateway`.
 *
 * Rate limits are Discord's (see `RateLimitOptions`): a bucket per webhook with moving headers,
 * the hidden per-channel limit on webhook messages (429 `X-RateLimit-Scope: shared`) and the bot's
 * global limit, each a real 429 that discord.js must wait out. A bot that logs out (gateway close
 * 1000) misses what happens meanwhile except through REST, as on Discord.
 *
 * This module is the facade tests import: the `DiscordEmulator` class and the public types and
 * constants. The emulator itself lives in `./discord/`, one module per concern, all sharing one
 * `EmulatorState` (discord/model.ts) that each function takes as its first argument:
 *
 * - state.ts (the in-memory guild and its lookups), world.ts (building it), driver.ts (what users
 *   do), messages.ts, interactions.ts, attachments.ts (storage and the CDN), permissions.ts;
 * - gateway.ts (websocket sessions and dispatch), payloads.ts (state as Discord's JSON);
 * - http.ts (the request pipeline), routes/ (one route table per REST resource), rateLimits.ts,
 *   faults.ts, validation.ts, results.ts (answers and Discord's errors);
 * - types.ts (public types), constants.ts, util.ts.
 */
export class DiscordEmulator {
  readonly token: string;
  readonly applicationId: string;
  readonly botUserId: string;
  readonly guildId: string;
  readonly channelId: string;
  /** The guild owner (a human member; the bot is not the owner so its permissions matter). */
  readonly ownerId: string;
  /**
   * A role every user made by `createUser` has, granting `DEFAULT_MEMBER_PERMISSIONS` (what
   * @everyone usually grants). @everyone itself grants nothing, so the bot's permissions are
   * exactly what `setBotPermissions` says, and discord.js computes members' permissions from roles
   * it knows.
   */
  readonly memberRoleId: string;
  /** Every HTTP request, in order of arrival. */
  readonly requests: RequestRecord[];
  /** Every gateway dispatch, in order (before per-session content masking). */
  readonly events: DispatchRecord[];
  /** Every gateway payload received from clients (op codes: 1 heartbeat, 2 identify, 6 resume, ...). */
  readonly gatewayReceived: Array<{ op: number; at: number }>;
  /** Every IDENTIFY that opened a session, with the `[shard_id, num_shards]` it asked for. */
  readonly identified: Array<{ shard: [number, number]; at: number }>;
  /** Every 429 the emulator answered (rate limits and injected faults), in order. */
  readonly rateLimited: RateLimitRecord[];

  private readonly state: EmulatorState;
  private readonly server: Server;
  private readonly gatewayServer: WebSocketServer;
  private closed = false;

  private constructor(options: DiscordEmulatorOptions) {
    const state = createState(options);
    world.populateWorld(state);
    this.state = state;
    this.token = state.token;
    this.applicationId = state.applicationId;
    this.botUserId = state.botUserId;
    this.guildId = state.guildId;
    this.channelId = state.channelId;
    this.ownerId = state.ownerId;
    this.memberRoleId = state.memberRoleId;
    this.requests = state.requests;
    this.events = state.events;
    this.gatewayReceived = state.gatewayReceived;
    this.identified = state.identified;
    this.rateLimited = state.rateLimited;

    this.server = createServer((request, response) => {
      void handleHttp(state, ROUTES, request, response);
    });
    this.gatewayServer = new WebSocketServer({ noServer: true });
    this.server.on('upgrade', (request, socket, head) => {
      this.gatewayServer.handleUpgrade(request, socket, head, (ws) => gateway.onGatewayConnection(state, ws));
    });
  }

  static async start(options: DiscordEmulatorOptions = {}): Promise<DiscordEmulator> {
    const emulator = new DiscordEmulator(options);
    await new Promise<void>((resolve, reject) => {
      emulator.server.once('error', reject);
      emulator.server.listen(0, '127.0.0.1', () => resolve());
    });
    emulator.state.port = (emulator.server.address() as AddressInfo).port;
    return emulator;
  }

  /** `http://127.0.0.1:PORT`: where attachments are served. */
  get baseUrl(): string {
    return baseUrl(this.state);
  }

  /** For discord.js `rest.api`. */
  get apiUrl(): string {
    return `${this.baseUrl}/api`;
  }

  get gatewayUrl(): string {
    return gatewayUrl(this.state);
  }

  /** Whether a gateway session is identified and connected. */
  get connected(): boolean {
    return gateway.isConnected(this.state);
  }

  /**
   * Gateway sessions that still exist: connected, or dropped but resumable. A bot that logged out
   * (closed with 1000/1001) has none; events dispatched then reach nobody, ever.
   */
  get sessionCount(): number {
    return this.state.sessions.size;
  }

  /** The `[shard_id, num_shards]` of each connected gateway session. */
  get connectedShards(): Array<[number, number]> {
    return [...this.state.sessions.values()].filter((s) => s.socket !== undefined).map((s) => [...s.shard]);
  }

  // ------------------------------------------------------------------------------------------
  // World building (discord/world.ts)
  // ------------------------------------------------------------------------------------------

  /**
   * Another server (the bot and every user are members), with its own @everyone, `member` and bot
   * roles and a 'general' channel; `shard: [id, count]` makes its id land in that shard. Dispatches
   * GUILD_CREATE to the sessions of its shard.
   */
  createGuild(name: string, options: { shard?: [number, number] } = {}): EmulatedGuild {
    return world.createGuild(this.state, name, options);
  }

  /** Another guild text channel (in `guildId`, else the first server), with overwrites; CHANNEL_CREATE. */
  createChannel(name: string, options: { overwrites?: ChannelOverwrite[]; guildId?: string } = {}): string {
    return world.createChannel(this.state, name, options);
  }

  createRole(name: string, options: { permissions?: bigint; guildId?: string } = {}): string {
    return world.createRole(this.state, name, options);
  }

  /**
   * A guild member (and a user) with the `member` role (`memberRoleId`) plus `roles`. Dispatches
   * GUILD_MEMBER_ADD to sessions with the GuildMembers intent.
   */
  createUser(username: string, options: { roles?: string[]; bot?: boolean } = {}): string {
    return world.createUser(this.state, username, options);
  }

  /** Gives a member more roles (GUILD_MEMBER_UPDATE). */
  addRole(userId: string, roleId: string): void {
    world.addRole(this.state, userId, roleId);
  }

  /** Takes a role from a member (GUILD_MEMBER_UPDATE); taking `memberRoleId` leaves them no default rights. */
  removeRole(userId: string, roleId: string): void {
    world.removeRole(this.state, userId, roleId);
  }

  /**
   * Replaces a guild text channel's permission overwrites; dispatches CHANNEL_UPDATE so discord.js's
   * `channel.permissionsFor(member)` sees them. Threads follow their parent's.
   */
  setChannelOverwrites(channelId: string, overwrites: ChannelOverwrite[]): void {
    world.setChannelOverwrites(this.state, channelId, overwrites);
  }

  /**
   * Sets the overwrite for one role or member (an `allow` and `deny` of 0 removes it); dispatches
   * CHANNEL_UPDATE.
   */
  setChannelOverwrite(channelId: string, targetId: string, bits: { allow?: bigint; deny?: bigint }): void {
    world.setChannelOverwrite(this.state, channelId, targetId, bits);
  }

  /**
   * Denies View Channel in a channel (and its threads) to a member or a role, keeping the rest of
   * that overwrite. Hiding it from @everyone (the guild id) hides it from the bot too, as on
   * Discord: allow it back with `setChannelOverwrite(channelId, botUserId, { allow: ViewChannel })`.
   */
  hideChannelFrom(channelId: string, userOrRoleId: string): void {
    world.hideChannelFrom(this.state, channelId, userOrRoleId);
  }

  /**
   * A member's permissions in a channel or thread, computed as Discord (and discord.js's
   * `permissionsFor`) does: guild roles, then the channel's overwrites; owner and Administrator
   * get everything. A thread answers for its parent.
   */
  channelPermissions(userId: string, channelId: string): bigint {
    return permissionsIn(this.state, userId, requireChannel(this.state, channelId));
  }

  /**
   * The bot's permissions in the guild (its managed role's bitfield; @everyone grants nothing), in
   * the first server unless `guildId` names another. Dispatches GUILD_ROLE_UPDATE so discord.js sees the change.
   */
  setBotPermissions(permissions: bigint, guildId?: string): void {
    world.setBotPermissions(this.state, permissions, guildId);
  }

  /** The bot's guild-level permissions (roles only; `channelPermissions(botUserId, id)` adds overwrites). */
  get botPermissions(): bigint {
    return botPermissions(this.state);
  }

  /**
   * Archives (and optionally locks) a thread, as Discord's auto-archive does; `at` sets its
   * `archive_timestamp` (default now).
   */
  archiveThread(threadId: string, options: { locked?: boolean; at?: Date } = {}): void {
    world.archiveThread(this.state, threadId, options);
  }

  /** A webhook somebody else (not the bot's application) created in a channel. */
  createUserWebhook(channelId: string, name: string): EmulatedWebhook {
    return world.createUserWebhook(this.state, channelId, name);
  }

  // ------------------------------------------------------------------------------------------
  // Driver: what users do (discord/driver.ts)
  // ------------------------------------------------------------------------------------------

  /** A member posts in a guild channel or thread: stored, then MESSAGE_CREATE. */
  userSays(
    userId: string,
    channelId: string,
    content: string,
    options: driver.UserSaysOptions = {},
  ): EmulatedMessage {
    return driver.userSays(this.state, userId, channelId, content, options);
  }

  /**
   * A member starts a thread in a text channel: public, or private (`private: true`) with
   * `members` added (the bot, to talk to it there). Resolves nothing: returns the thread's id.
   */
  userStartsThread(
    userId: string,
    channelId: string,
    name: string,
    options: { private?: boolean; members?: string[] } = {},
  ): string {
    return driver.userStartsThread(this.state, userId, channelId, name, options);
  }

  /** Someone is added to a thread (a private thread: now they see it), or leaves it (`joined: false`). */
  setThreadMember(threadId: string, userId: string, joined = true): void {
    driver.setThreadMember(this.state, threadId, userId, joined);
  }

  /** A user writes to the bot in DMs (channel type 1; MESSAGE_CREATE without guild_id). */
  userDMs(userId: string, content: string): EmulatedMessage {
    return driver.userDMs(this.state, userId, content);
  }

  /**
   * A member types into an option that has autocomplete: INTERACTION_CREATE type 4, the option
   * being typed (`focused`) marked as Discord marks it. The bot's choices arrive as a type 8
   * callback in `interaction(id).responses`.
   */
  async runAutocomplete(
    userId: string,
    channelId: string,
    name: string,
    options: Record<string, string | number | boolean>,
    focused: string,
    subcommand?: string,
  ): Promise<InteractionRecord> {
    return this.runCommand(userId, channelId, name, options, subcommand, focused);
  }

  /** A member runs a slash command: INTERACTION_CREATE type 2. */
  async runCommand(
    userId: string,
    channelId: string,
    name: string,
    options: Record<string, string | number | boolean> = {},
    subcommand?: string,
    focused?: string,
  ): Promise<InteractionRecord> {
    return driver.runCommand(this.state, userId, channelId, name, options, subcommand, focused);
  }

  /** A member clicks a button on a message: INTERACTION_CREATE type 3 with the full message. */
  async clickButton(userId: string, messageId: string, customId: string): Promise<InteractionRecord> {
    return driver.clickButton(this.state, userId, messageId, customId);
  }

  /**
   * A member reacts to a message with an emoji (`'👍'`, or a server's own as `'name:id'`):
   * MESSAGE_REACTION_ADD to sessions with the GuildMessageReactions intent (DirectMessageReactions
   * in a DM) that can see the channel, carrying the member and `message_author_id` (a webhook
   * message's is the webhook's id). Reacting twice with one emoji changes nothing.
   */
  react(userId: string, messageId: string, emoji: string): void {
    driver.react(this.state, userId, messageId, emoji);
  }

  /** A member takes a reaction back: MESSAGE_REACTION_REMOVE (nothing when they had none). */
  unreact(userId: string, messageId: string, emoji: string): void {
    driver.unreact(this.state, userId, messageId, emoji);
  }

  // ------------------------------------------------------------------------------------------
  // Inspection
  // ------------------------------------------------------------------------------------------

  /** The channel's (or thread's) messages, oldest first. */
  messages(channelId: string): EmulatedMessage[] {
    return structuredClone(this.state.channelMessages.get(channelId) ?? []);
  }

  /**
   * Every edit of a message (by the bot, a webhook or an interaction response), oldest first, with
   * the content after each; empty if it was never edited. Kept after the message is deleted.
   */
  edits(messageId: string): MessageEdit[] {
    return structuredClone(this.state.messageEdits.get(messageId) ?? []);
  }

  /** A message by id, including ephemeral interaction messages. */
  message(messageId: string): EmulatedMessage | undefined {
    const message = findMessage(this.state, messageId);
    return message ? structuredClone(message) : undefined;
  }

  threads(): Array<{ id: string; name: string; parent_id: string; owner_id: string; archived: boolean }> {
    return [...this.state.channels.values()]
      .filter((channel) => channel.thread !== undefined)
      .map(threadSummary);
  }

  webhooks(): EmulatedWebhook[] {
    return [...this.state.webhookStates.values()].map((webhook) => webhookSummary(webhook));
  }

  /** The live record of an interaction (it keeps filling in as the bot responds). */
  interaction(id: string): InteractionRecord {
    const state = this.state.interactionStates.get(id);
    if (!state) throw new Error(`interaction: unknown interaction ${id}`);
    return state.record;
  }

  /** Registered commands: global ones, or a guild's. */
  commands(guildId?: string): JsonObject[] {
    return structuredClone(
      this.state.commandStates.filter((c) => c.guildId === guildId).map((c) => commandPayload(this.state, c)),
    );
  }

  /** Requests that matched no route (answered 404 `{code: 0}`). */
  unknownRoutes(): RequestRecord[] {
    return this.requests.filter((request) => request.route === undefined);
  }

  /** Polls `check` every 10 ms until it returns something other than undefined/null/false. */
  waitFor<T>(
    check: () => T | undefined | null | false | Promise<T | undefined | null | false>,
    timeoutMs = 5000,
  ): Promise<T> {
    return waitFor(check, timeoutMs, this.requests);
  }

  // ------------------------------------------------------------------------------------------
  // Faults (discord/faults.ts, discord/rateLimits.ts, discord/gateway.ts)
  // ------------------------------------------------------------------------------------------

  /** The next `times` requests matching method and path are answered with this error. */
  failNext(rule: FaultRule): void {
    this.state.faults.push({ ...rule, remaining: rule.times ?? 1 });
  }

  /** Deletes a webhook as if a moderator did; later executes answer 404 10015 Unknown Webhook. */
  deleteWebhook(id: string): void {
    world.deleteWebhook(this.state, id);
  }

  /**
   * Replaces the given rate limits (`false` turns one off) and forgets what they had counted; the
   * others keep their settings and counts. See `RateLimitOptions` for what each one limits.
   */
  setRateLimits(limits: RateLimitOptions): void {
    rateLimits.setRateLimits(this.state, limits);
  }

  /** The rate limits in force (a copy). */
  get rateLimitSettings(): Record<RateLimitKind, RateLimit | false> {
    return structuredClone(this.state.rateLimits);
  }

  /** Per-webhook limit on executes and webhook-message edits and deletes (default 5 per 2 s). */
  setWebhookRateLimit(limit: number, windowMs: number): void {
    this.setRateLimits({ webhook: { limit, windowMs } });
  }

  /** Per-channel limit on `POST /channels/{id}/messages` (default 50 per second). */
  setChannelRateLimit(limit: number, windowMs: number): void {
    this.setRateLimits({ channelMessages: { limit, windowMs } });
  }

  /**
   * Per-channel limit on webhook messages, shared by all webhooks posting there, threads counting
   * toward their parent (default 30 per 60 s).
   */
  setChannelWebhookMessageRateLimit(limit: number, windowMs: number): void {
    this.setRateLimits({ channelWebhookMessages: { limit, windowMs } });
  }

  /** The bot token's global limit (default 50 per second). */
  setGlobalRateLimit(limit: number, windowMs: number): void {
    this.setRateLimits({ global: { limit, windowMs } });
  }

  /**
   * Drops every gateway connection with this close code. 4000 (default) makes discord.js resume:
   * events dispatched meanwhile are replayed on RESUME, as Discord does.
   */
  dropGateway(code = 4000): void {
    gateway.dropGateway(this.state, code);
  }

  /** Closes the gateway and the HTTP server, terminating open sockets. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const socket of this.state.sockets) socket.terminate();
    await new Promise<void>((resolve) => this.gatewayServer.close(() => resolve()));
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
