/**
 * The Discord emulator's public types: what tests hand it (options, rate limits, faults, channel
 * overwrites, user attachments) and what they read back (messages, edits, requests, interactions,
 * dispatches, 429s). `tests/support/discordEmulator.ts` re-exports all of them; import from there.
 */

export interface EmulatedUser {
  id: string;
  username: string;
  discriminator: string;
  global_name?: string;
  avatar: string | null;
  bot?: boolean;
}

export interface EmulatedAttachment {
  id: string;
  filename: string;
  size: number;
  url: string;
  proxy_url: string;
  content_type?: string;
}

export interface EmulatedMessage {
  id: string;
  /** Discord message type: 0 default, 18 thread created, 19 reply, 20 slash-command response. */
  type: number;
  channel_id: string;
  guild_id?: string;
  content: string;
  author: EmulatedUser;
  webhook_id?: string;
  application_id?: string;
  embeds: unknown[];
  components: unknown[];
  attachments: EmulatedAttachment[];
  /** As sent by the bot or webhook (Discord does not echo it; kept so tests can assert on it). */
  allowed_mentions?: unknown;
  /** For webhook messages: the `avatar_url` the message was sent with (test-only, not echoed). */
  avatar_url?: string;
  mentions: EmulatedUser[];
  mention_roles: string[];
  mention_everyone: boolean;
  timestamp: string;
  edited_timestamp: string | null;
  tts: boolean;
  pinned: boolean;
  flags: number;
  message_reference?: unknown;
  referenced_message?: EmulatedMessage;
  interaction_metadata?: unknown;
  /** As Discord shows them: one entry per emoji, with its count and whether the bot is among them. */
  reactions?: EmulatedReaction[];
}

/** A message's reactions with one emoji, as Discord's message object carries them. */
export interface EmulatedReaction {
  count: number;
  count_details: { burst: number; normal: number };
  me: boolean;
  me_burst: boolean;
  emoji: { id: string | null; name: string; animated?: boolean };
  burst_colors: string[];
}

/**
 * How the emulator's HTTP server answers a download of an attachment, to test how a bot copes
 * with a server that misbehaves. The message's `size` stays what was declared either way.
 */
export type AttachmentServing =
  /** As any file server: status, `Content-Length`, the content. The default. */
  | { kind: 'normal' }
  /** Reads the request and never answers: no status line, no headers, until the client gives up. */
  | { kind: 'hang-before-headers' }
  /** Sends 200 and headers (`Content-Length` of the content), the first `bytes` (default 0), then nothing. */
  | { kind: 'hang-after-headers'; bytes?: number }
  /**
   * Streams `bytes` bytes (generated on the fly, honouring backpressure) whatever the declared
   * size: chunked without `Content-Length` (default), or with an honest `Content-Length: bytes`.
   */
  | { kind: 'oversize'; bytes: number; contentLength?: 'none' | 'actual' }
  /** Sends the content `chunkBytes` at a time, one chunk every `intervalMs`. */
  | { kind: 'trickle'; chunkBytes: number; intervalMs: number };

/** A file a user attaches with `userSays`. */
export interface UserAttachment {
  filename: string;
  content: string | Buffer;
  contentType?: string;
  /** The `size` the message declares (default: the content's length). */
  size?: number;
  /** How the download misbehaves (default `{ kind: 'normal' }`). */
  serving?: AttachmentServing;
}

/** One edit of a message, as `edits()` lists it. */
export interface MessageEdit {
  /** The content after the edit. */
  content: string;
  /** On the emulator's clock, like `RequestRecord.arrivedAt`. */
  at: number;
}

export interface RequestRecord {
  method: string;
  /** The URL path without the query, e.g. `/api/v10/channels/1/messages`. */
  path: string;
  query: Record<string, string>;
  /** Parsed JSON, or for multipart requests the parsed `payload_json` (files are in `files`). */
  body: unknown;
  /** 0 while the request is still being handled. */
  status: number;
  /** Wall-clock arrival (`Date.now()`). */
  at: number;
  /**
   * Arrival on the emulator's clock (`DiscordEmulatorOptions.now`, by default `performance.now()`):
   * the clock the rate-limit windows use, so spacing between requests can be measured precisely.
   */
  arrivedAt: number;
  /** The matched route template, e.g. `POST /channels/:channel/messages`; absent for unknown routes. */
  route?: string;
  /** Who sent it, by its `User-Agent` (discord.js, or a REST proxy in front of it). */
  userAgent?: string;
  files?: Array<{ field: string; filename: string; size: number; contentType: string }>;
  /** Set when the emulator itself failed (500): a bug in the emulator, not in the bot. */
  error?: string;
  /** Attachment downloads: body bytes written to the connection so far. */
  bytesSent?: number;
  /**
   * Attachment downloads: true once the connection closed before the whole body was sent (the
   * client gave up, or the emulator closed); false once it was all sent.
   */
  closedEarly?: boolean;
}

/**
 * What the bot sent as an interaction response, edit or follow-up: the JSON body as received.
 * Typed `any` on purpose: tests dig into arbitrary payload shapes (embeds, components, ...).
 */
// biome-ignore lint/suspicious/noExplicitAny: arbitrary JSON the bot sent, inspected freely by tests
export type MessagePayloadRecord = any;

export interface InteractionRecord {
  id: string;
  token: string;
  /** 2 application command, 3 message component. */
  type: number;
  channelId: string;
  userId: string;
  commandName?: string;
  customId?: string;
  /** Callback bodies (`POST /interactions/{id}/{token}/callback`), in order. */
  responses: Array<{ type: number; data?: MessagePayloadRecord }>;
  /** Bodies of `PATCH /webhooks/{app}/{token}/messages/{@original|id}`, in order. */
  edits: MessagePayloadRecord[];
  /** Bodies of `POST /webhooks/{app}/{token}`, in order. */
  followups: MessagePayloadRecord[];
}

export interface EmulatedWebhook {
  id: string;
  token: string;
  channel_id: string;
  name: string;
  /** The bot's application id for webhooks the bot created; null for ones a user made. */
  application_id: string | null;
}

/**
 * A channel permission overwrite (Discord's `permission_overwrites` entry). Applied in Discord's
 * order: the @everyone overwrite, then all of the member's role overwrites together, then the
 * member's own; deny before allow at each step.
 */
export interface ChannelOverwrite {
  /** A role id (the guild id for @everyone) or a member's user id. */
  id: string;
  /** 0 role, 1 member; inferred from `id` when absent. */
  type?: 0 | 1;
  allow?: bigint;
  deny?: bigint;
}

export interface FaultRule {
  /** HTTP method; any when absent. */
  method?: string;
  /**
   * Tested against the request path without the query, both in full (`/api/v10/webhooks/1/t`)
   * and without the `/api/v10` prefix (`/webhooks/1/t`): a rule matching either applies.
   */
  path: RegExp;
  status: number;
  code?: number;
  message?: string;
  /** Seconds, for 429. Default 1. */
  retryAfter?: number;
  /** How many matching requests fail. Default 1. */
  times?: number;
}

export interface DispatchRecord {
  t: string;
  d: unknown;
  at: number;
  /**
   * The gateway sessions the event was sequenced for (sent at once, or replayed on RESUME). Empty
   * when no session was open or none was entitled to it: such an event is lost to the bot, and only
   * REST (message history, active threads) can tell it what happened.
   */
  sessions: string[];
}

/** A limit of `limit` requests per `windowMs` milliseconds. */
export interface RateLimit {
  limit: number;
  windowMs: number;
}

/**
 * The rate limits the emulator enforces with real 429s; `false` turns one off. Defaults are in
 * `DEFAULT_RATE_LIMITS`.
 */
export interface RateLimitOptions {
  /**
   * Per webhook (fixed window; `X-RateLimit-*` headers count it down): executes, and edits and
   * deletes of its messages. Discord: about 5 per 2 s. Default 5 per 2000 ms.
   */
  webhook?: RateLimit | false;
  /**
   * Per channel, shared by every webhook posting into it (sliding window, invisible in headers,
   * 429 with `X-RateLimit-Scope: shared`): webhook messages created. A post into a thread counts
   * toward the thread's parent channel. Discord: about 30 per minute, undocumented. Default 30 per
   * 60000 ms.
   */
  channelWebhookMessages?: RateLimit | false;
  /**
   * Per bot token (fixed window; 429 with `X-RateLimit-Global: true`): every request authorized
   * with the bot token except interaction endpoints. Discord: 50 per second. Default 50 per 1000 ms.
   */
  global?: RateLimit | false;
  /** Per channel, `POST /channels/{id}/messages` by the bot (fixed window, headers). Default 50 per 1000 ms. */
  channelMessages?: RateLimit | false;
}

export const DEFAULT_RATE_LIMITS: Readonly<Record<keyof RateLimitOptions, Readonly<RateLimit>>> =
  Object.freeze({
    webhook: Object.freeze({ limit: 5, windowMs: 2000 }),
    channelWebhookMessages: Object.freeze({ limit: 30, windowMs: 60_000 }),
    global: Object.freeze({ limit: 50, windowMs: 1000 }),
    channelMessages: Object.freeze({ limit: 50, windowMs: 1000 }),
  });

/** Discord's `X-RateLimit-Scope`: a per-bot route bucket, the bot's global limit, or a limit on a shared resource. */
export type RateLimitScope = 'user' | 'global' | 'shared';

/** A 429 the emulator answered. */
export interface RateLimitRecord {
  method: string;
  /** The URL path without the query. */
  path: string;
  /** The matched route template, e.g. `POST /webhooks/:webhook/:token`. */
  route?: string;
  /**
   * Which limit: `webhook:{id}`, `channel-webhook-messages:{channelId}`, `global`,
   * `channel:{id}` (bot messages), or `fault` for a 429 injected with `failNext`.
   */
  bucket: string;
  scope: RateLimitScope;
  /** Seconds, as in the body's `retry_after`. */
  retryAfter: number;
  /** On the emulator's clock, like `RequestRecord.arrivedAt`. */
  at: number;
}

export interface DiscordEmulatorOptions {
  /** Whether the application has the privileged Message Content intent enabled. Default true. */
  messageContentIntent?: boolean;
  /**
   * What the @everyone role grants in the guild. Default nothing, so the bot's permissions are
   * exactly its managed role's; a test about channels everyone can read (curation's public scope)
   * gives it View Channel, as most servers do.
   */
  everyonePermissions?: bigint;
  /** How long an interaction accepts its first callback (Discord: 3 s). */
  interactionAckTimeoutMs?: number;
  /** How long an interaction's token accepts edits and follow-ups (Discord: 15 min). */
  interactionTokenLifetimeMs?: number;
  /** Rate limits to enforce; each unset one keeps its `DEFAULT_RATE_LIMITS` value, `false` turns it off. */
  rateLimits?: RateLimitOptions;
  /**
   * The clock (milliseconds, monotonic) for rate-limit windows, `arrivedAt`, `rateLimited[].at` and
   * `edits()`. Default `performance.now()`. A test may pass one it advances by hand to reason about
   * windows with raw `fetch`; discord.js itself still waits on real time.
   */
  now?: () => number;
  /** The shard count `/gateway/bot` recommends (default 1). */
  shards?: number;
  /** `session_start_limit.max_concurrency`: IDENTIFYs a bot may start at once, per 5 s (default 1). */
  maxConcurrency?: number;
}

/** A server `createGuild` made: its id, its 'general' channel and its roles. */
export interface EmulatedGuild {
  id: string;
  channelId: string;
  memberRoleId: string;
  botRoleId: string;
}
