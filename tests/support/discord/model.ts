/**
 * The emulator's internal model: `EmulatorState`, the one object every module of the emulator
 * reads and changes (each function takes it as its first argument), the records it holds, and the
 * shape of a REST route. Types only.
 */

import type { WebSocket } from 'ws';
import type {
  AttachmentServing,
  DispatchRecord,
  EmulatedMessage,
  EmulatedUser,
  FaultRule,
  InteractionRecord,
  MessageEdit,
  RateLimit,
  RateLimitOptions,
  RateLimitRecord,
  RateLimitScope,
  RequestRecord,
} from './types.ts';

export type JsonObject = Record<string, unknown>;

/** A message body as the bot, a webhook or an interaction response sends it. */
export interface OutgoingMessage {
  content?: string;
  embeds?: JsonObject[];
  components?: JsonObject[];
  attachments?: JsonObject[];
  allowed_mentions?: JsonObject;
  message_reference?: JsonObject;
  flags?: number;
  tts?: boolean;
  username?: string;
  avatar_url?: string;
  hasStickersOrPoll: boolean;
}

export interface UploadedFile {
  field: string;
  filename: string;
  contentType: string;
  data: Buffer;
  /** Driver attachments only: what the message declares and how the download behaves. */
  declaredSize?: number;
  serving?: AttachmentServing;
}

export interface StoredAttachment {
  data: Buffer;
  contentType: string;
  serving: AttachmentServing;
}

export interface MemberState {
  userId: string;
  roles: string[];
  joinedAt: string;
}

export interface RoleState {
  id: string;
  /** The server it belongs to (an @everyone role's id is its server's). */
  guildId: string;
  name: string;
  permissions: bigint;
  position: number;
  managed: boolean;
  botId?: string;
}

export interface ThreadMetadata {
  archived: boolean;
  locked: boolean;
  autoArchiveDuration: number;
  archiveTimestamp: string;
  createTimestamp: string;
}

export interface ChannelState {
  id: string;
  type: number;
  name: string;
  guildId?: string;
  parentId?: string;
  ownerId?: string;
  recipientId?: string;
  position: number;
  lastMessageId?: string;
  messageCount: number;
  totalMessageSent: number;
  thread?: ThreadMetadata;
  /** Guild text channels only (threads follow their parent's). */
  overwrites: OverwriteState[];
  /** Threads only: who has joined, with when. */
  members?: Map<string, string>;
}

export interface OverwriteState {
  id: string;
  type: 0 | 1;
  allow: bigint;
  deny: bigint;
}

export interface WebhookState {
  id: string;
  token: string;
  channelId: string;
  name: string;
  avatar: string | null;
  applicationId: string | null;
  creatorId: string;
}

export interface InteractionState {
  record: InteractionRecord;
  guildId?: string;
  createdAt: number;
  acknowledged: boolean;
  /** True after a deferred reply until the first edit or follow-up fills it in. */
  loading: boolean;
  originalMessageId?: string;
  componentMessageId?: string;
  messageIds: Set<string>;
}

/** An emoji as Discord names it in a reaction: a Unicode emoji (no id), or a server's own. */
export interface EmojiState {
  id: string | null;
  name: string;
  animated?: boolean;
}

/** Who reacted to one message, by emoji (its id, or its name for a Unicode emoji), in order. */
export type MessageReactions = Map<string, { emoji: EmojiState; users: string[] }>;

export interface CommandState {
  id: string;
  guildId?: string;
  body: JsonObject;
}

/**
 * A server beside its roles: each has an @everyone role (its own id), a `member` role every user
 * made by `createUser` has, and the bot's managed role. Every user is a member of every server,
 * with the roles of each that they were given; the guild owner owns them all.
 */
export interface GuildState {
  id: string;
  name: string;
  memberRoleId: string;
  botRoleId: string;
}

export interface GatewaySession {
  id: string;
  intents: number;
  /** `[shard_id, num_shards]` from IDENTIFY (`[0, 1]` when it names none): which servers' events it gets. */
  shard: [number, number];
  seq: number;
  socket: WebSocket | undefined;
  backlog: Array<{ op: 0; t: string; s: number; d: unknown }>;
}

export interface GatewayConnection {
  socket: WebSocket;
  session: GatewaySession | undefined;
}

/** A fixed window: `count` requests since it opened; it reopens at `resetAt` (emulator clock). */
export interface BucketState {
  count: number;
  resetAt: number;
}

export type RateLimitKind = keyof RateLimitOptions;

/** Everything the emulator knows; built by `createState`, shared by every module. */
export interface EmulatorState {
  // Identity, fixed once the initial world is built.
  readonly token: string;
  readonly applicationId: string;
  readonly botUserId: string;
  readonly guildId: string;
  /** The guild owner; set while the initial world is built (`populateWorld`). */
  ownerId: string;
  /** The default text channel ('general'); set while the initial world is built. */
  channelId: string;
  readonly memberRoleId: string;
  readonly botRoleId: string;
  /** Every server, the first (`guildId`) included, by id. */
  readonly guilds: Map<string, GuildState>;

  // Options.
  readonly messageContentIntent: boolean;
  readonly interactionAckTimeoutMs: number;
  readonly interactionTokenLifetimeMs: number;
  /** The emulator's clock (rate-limit windows, `arrivedAt`, edits). */
  readonly clock: () => number;
  /** What `/gateway/bot` recommends: the shard count, and IDENTIFYs allowed at once (`max_concurrency`). */
  readonly recommendedShards: number;
  readonly maxConcurrency: number;

  /** The HTTP port, 0 until the server listens. */
  port: number;
  /** While the initial world is built nothing is dispatched or logged. */
  building: boolean;
  /** The last snowflake handed out (ids within a millisecond count up from it). */
  lastSnowflake: bigint;

  // The servers.
  readonly users: Map<string, EmulatedUser>;
  readonly members: Map<string, MemberState>;
  readonly roles: Map<string, RoleState>;
  readonly channels: Map<string, ChannelState>;
  readonly channelMessages: Map<string, EmulatedMessage[]>;
  /** Ephemeral interaction messages: visible to one user, never in channel history or the gateway. */
  readonly ephemeralMessages: Map<string, EmulatedMessage>;
  readonly attachmentData: Map<string, StoredAttachment>;
  readonly messageEdits: Map<string, MessageEdit[]>;
  /** Who reacted to which message with what, by message id. */
  readonly reactions: Map<string, MessageReactions>;
  readonly dmChannelByUser: Map<string, string>;
  readonly webhookStates: Map<string, WebhookState>;
  readonly interactionStates: Map<string, InteractionState>;
  readonly commandStates: CommandState[];

  // What happened, for tests to inspect (the facade exposes these arrays as they are).
  readonly requests: RequestRecord[];
  readonly events: DispatchRecord[];
  readonly gatewayReceived: Array<{ op: number; at: number }>;
  /** Every IDENTIFY that opened a session: its shard, and when. */
  readonly identified: Array<{ shard: [number, number]; at: number }>;
  readonly rateLimited: RateLimitRecord[];

  // The gateway.
  readonly sessions: Map<string, GatewaySession>;
  readonly sockets: Set<WebSocket>;
  readonly closedByServer: WeakSet<WebSocket>;

  // Faults and rate limits.
  readonly faults: Array<FaultRule & { remaining: number }>;
  readonly rateLimits: Record<RateLimitKind, RateLimit | false>;
  readonly buckets: Map<string, BucketState>;
  /** Per channel: when each webhook message counted by `channelWebhookMessages` was created. */
  readonly channelWebhookMessageTimes: Map<string, number[]>;
}

export interface RouteContext {
  method: string;
  /** The path after `/api/v10`. */
  path: string;
  query: Record<string, string>;
  body: unknown;
  files: UploadedFile[];
  param(name: string): string;
}

export interface RouteResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Set on a 429: what to record in `rateLimited`. */
  limited?: { bucket: string; scope: RateLimitScope; retryAfter: number };
}

export type RouteHandler = (
  state: EmulatorState,
  context: RouteContext,
) => RouteResult | Promise<RouteResult>;

/** Which rate-limit bucket a request to a route counts toward; undefined for none. */
export type RouteBucket = (
  state: EmulatorState,
  context: RouteContext,
) => { key: string; hash: string; kind: RateLimitKind } | undefined;

export interface Route {
  method: string;
  template: string;
  segments: string[];
  /** Routes carrying a webhook or interaction token need no bot token (discord.js sends none). */
  auth: boolean;
  handler: RouteHandler;
  bucket?: RouteBucket;
  /** Interaction endpoints are not bound to the bot's global rate limit (Discord's rate-limit docs). */
  exemptFromGlobal?: boolean;
}
