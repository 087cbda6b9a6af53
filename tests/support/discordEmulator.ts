import { createHash, randomBytes } from 'node:crypto';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
  STATUS_CODES,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';

/**
 * A loopback Discord: REST API v10 over HTTP and a WebSocket gateway, both on 127.0.0.1, faithful
 * enough that the unmodified discord.js v14 `Client` logs in and a bot can be tested end to end
 * (docs/DISCORD.md, "What a loopback emulator needs so the real discord.js client works").
 *
 * One guild, one default text channel ('general'), a bot user and a guild owner exist from the
 * start. Tests drive users through `userSays`, `userDMs`, `runCommand`, `clickButton`, inspect what
 * the bot did through `messages`, `edits`, `threads`, `webhooks`, `interaction`, `requests`,
 * `events` and `rateLimited`, and inject faults with `failNext`, `deleteWebhook`,
 * `setBotPermissions`, channel overwrites (`hideChannelFrom`), attachments whose download
 * misbehaves, and `dropGateway`.
 *
 * Rate limits are Discord's (see `RateLimitOptions`): a bucket per webhook with moving headers,
 * the hidden per-channel limit on webhook messages (429 `X-RateLimit-Scope: shared`) and the bot's
 * global limit, each a real 429 that discord.js must wait out. A bot that logs out (gateway close
 * 1000) misses what happens meanwhile except through REST, as on Discord.
 */

// ---------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------

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
  reactions?: Array<{ emoji: string; count: number; me: boolean }>;
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
}

/** Gateway intents the emulator honours. */
export const Intent = {
  Guilds: 1 << 0,
  GuildMembers: 1 << 1,
  GuildWebhooks: 1 << 5,
  GuildMessages: 1 << 9,
  DirectMessages: 1 << 12,
  MessageContent: 1 << 15,
} as const;

/** Permission bits (same values as discord.js `PermissionFlagsBits`). */
export const Permission = {
  Administrator: 1n << 3n,
  ManageChannels: 1n << 4n,
  AddReactions: 1n << 6n,
  ViewChannel: 1n << 10n,
  SendMessages: 1n << 11n,
  ManageMessages: 1n << 13n,
  EmbedLinks: 1n << 14n,
  AttachFiles: 1n << 15n,
  ReadMessageHistory: 1n << 16n,
  MentionEveryone: 1n << 17n,
  ManageRoles: 1n << 28n,
  ManageWebhooks: 1n << 29n,
  UseApplicationCommands: 1n << 31n,
  ManageThreads: 1n << 34n,
  CreatePublicThreads: 1n << 35n,
  CreatePrivateThreads: 1n << 36n,
  SendMessagesInThreads: 1n << 38n,
} as const;

/** What the bot needs (docs/DISCORD.md, "Needed permissions"), plus reactions and commands. */
export const DEFAULT_BOT_PERMISSIONS =
  Permission.ViewChannel |
  Permission.SendMessages |
  Permission.SendMessagesInThreads |
  Permission.CreatePublicThreads |
  Permission.ManageWebhooks |
  Permission.EmbedLinks |
  Permission.AttachFiles |
  Permission.ReadMessageHistory |
  Permission.AddReactions |
  Permission.UseApplicationCommands;

/** What the `member` role every created user has grants (the usual @everyone rights). */
export const DEFAULT_MEMBER_PERMISSIONS =
  Permission.ViewChannel |
  Permission.SendMessages |
  Permission.SendMessagesInThreads |
  Permission.CreatePublicThreads |
  Permission.EmbedLinks |
  Permission.AttachFiles |
  Permission.ReadMessageHistory |
  Permission.AddReactions |
  Permission.UseApplicationCommands;

const ALL_PERMISSIONS = (1n << 51n) - 1n;

// ---------------------------------------------------------------------------------------------
// Constants and helpers
// ---------------------------------------------------------------------------------------------

const DISCORD_EPOCH = 1420070400000n;
const API_PREFIX = '/api/v10';
const HEARTBEAT_INTERVAL_MS = 41_250;
const MAX_CONTENT_LENGTH = 2000;
const MAX_FILE_BYTES = 10 * 1024 * 1024;
const MAX_FILES = 10;
const MAX_WEBHOOKS_PER_CHANNEL = 15;
const INTERACTION_TOKEN_LIFETIME_MS = 15 * 60_000;
const GATEWAY_BACKLOG = 1000;
const AUTO_ARCHIVE_DURATIONS = new Set([60, 1440, 4320, 10080]);
/** Bucket keys start with these (`webhook:{id}`, ...); `rateLimited[].bucket` shows them. */
const BUCKET_PREFIX = {
  webhook: 'webhook',
  channelWebhookMessages: 'channel-webhook-messages',
  global: 'global',
  channelMessages: 'channel',
} as const;

const ChannelType = { GuildText: 0, DM: 1, PublicThread: 11, PrivateThread: 12 } as const;
const MessageType = { Default: 0, ThreadCreated: 18, Reply: 19, ChatInputCommand: 20 } as const;
const MessageFlag = { SuppressEmbeds: 4, Ephemeral: 64, Loading: 128, IsComponentsV2: 1 << 15 } as const;
const InteractionType = { ApplicationCommand: 2, MessageComponent: 3, Autocomplete: 4 } as const;
const CallbackType = {
  ChannelMessage: 4,
  DeferredChannelMessage: 5,
  DeferredUpdateMessage: 6,
  UpdateMessage: 7,
  AutocompleteResult: 8,
  Modal: 9,
} as const;

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function randomToken(bytes: number): string {
  return randomBytes(bytes).toString('base64url');
}

function shortHash(text: string): string {
  return createHash('sha1').update(text).digest('hex').slice(0, 32);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function hasPermission(granted: bigint, needed: bigint): boolean {
  return (granted & Permission.Administrator) !== 0n || (granted & needed) === needed;
}

const CONTENT_TYPES: Record<string, string> = {
  txt: 'text/plain; charset=utf-8',
  md: 'text/markdown; charset=utf-8',
  json: 'application/json; charset=utf-8',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  pdf: 'application/pdf',
};

function guessContentType(filename: string): string | undefined {
  const extension = filename.split('.').pop()?.toLowerCase() ?? '';
  return CONTENT_TYPES[extension];
}

/** An error answered as Discord's JSON error body. */
class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
    readonly errors?: JsonObject,
  ) {
    super(message);
  }
}

/** A 429, thrown from inside a route handler (the shared per-channel webhook limit). */
class RateLimitedError extends Error {
  constructor(readonly result: RouteResult) {
    super('rate limited');
  }
}

/**
 * A 429 as Discord's rate-limit docs show it: `Retry-After` in whole seconds rounded up, the
 * body's `retry_after` in fractional seconds, `global` only for the global limit, and the
 * resource message for a shared limit (no `code`: the docs' examples carry none).
 */
function rateLimitedResult(scope: RateLimitScope, retryAfterMs: number, bucket: string): RouteResult {
  const retryAfter = Number((Math.max(retryAfterMs, 1) / 1000).toFixed(3));
  const headers: Record<string, string> = {
    'Retry-After': String(Math.ceil(retryAfter)),
    'X-RateLimit-Scope': scope,
  };
  if (scope === 'global') headers['X-RateLimit-Global'] = 'true';
  return {
    status: 429,
    body: {
      message: scope === 'shared' ? 'The resource is being rate limited.' : 'You are being rate limited.',
      retry_after: retryAfter,
      global: scope === 'global',
    },
    headers,
    limited: { bucket, scope, retryAfter },
  };
}

const unknownChannel = () => new ApiError(404, 10003, 'Unknown Channel');
const unknownGuild = () => new ApiError(404, 10004, 'Unknown Guild');
const unknownMessage = () => new ApiError(404, 10008, 'Unknown Message');
const unknownWebhook = () => new ApiError(404, 10015, 'Unknown Webhook');
const unknownInteraction = () => new ApiError(404, 10062, 'Unknown interaction');
const missingAccess = () => new ApiError(403, 50001, 'Missing Access');
const missingPermissions = () => new ApiError(403, 50013, 'Missing Permissions');
const invalidWebhookToken = () => new ApiError(401, 50027, 'Invalid Webhook Token');
const wrongChannelType = () => new ApiError(400, 50024, 'Cannot execute action on this channel type');
const invalidJson = () => new ApiError(400, 50109, 'The request body contains invalid JSON.');

/** Collects `Invalid Form Body` errors in Discord's nested `{field: {_errors: [...]}}` shape. */
class FormErrors {
  private readonly tree: JsonObject = {};
  private count = 0;

  add(path: Array<string | number>, code: string, message: string): void {
    let node = this.tree;
    for (const key of path) {
      const next = node[String(key)];
      if (isObject(next)) {
        node = next;
      } else {
        const created: JsonObject = {};
        node[String(key)] = created;
        node = created;
      }
    }
    const list = Array.isArray(node._errors) ? node._errors : [];
    list.push({ code, message });
    node._errors = list;
    this.count += 1;
  }

  throwIfAny(): void {
    if (this.count > 0) throw new ApiError(400, 50035, 'Invalid Form Body', this.tree);
  }
}

/** An integer query parameter within [min, max]; `fallback` when absent. */
function readLimitQuery(
  errors: FormErrors,
  value: string | undefined,
  min: number,
  max: number,
  fallback: number,
): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(number)) {
    errors.add(['limit'], 'NUMBER_TYPE_COERCE', `Value "${value}" is not int.`);
  } else if (number < min) {
    errors.add(['limit'], 'NUMBER_TYPE_MIN', `int value should be greater than or equal to ${min}.`);
  } else if (number > max) {
    errors.add(['limit'], 'NUMBER_TYPE_MAX', `int value should be less than or equal to ${max}.`);
  } else return number;
  return fallback;
}

function checkLength(errors: FormErrors, path: Array<string | number>, value: unknown, max: number): void {
  if (typeof value === 'string' && value.length > max) {
    errors.add(path, 'BASE_TYPE_MAX_LENGTH', `Must be ${max} or fewer in length.`);
  }
}

function checkBetween(
  errors: FormErrors,
  path: Array<string | number>,
  value: string,
  min: number,
  max: number,
) {
  if (value.length < min || value.length > max) {
    errors.add(path, 'BASE_TYPE_BAD_LENGTH', `Must be between ${min} and ${max} in length.`);
  }
}

/** A message body as the bot, a webhook or an interaction response sends it. */
interface OutgoingMessage {
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

function readObjectArray(errors: FormErrors, body: JsonObject, key: string): JsonObject[] | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) {
    errors.add([key], 'BASE_TYPE_ARRAY', 'Must be an array.');
    return undefined;
  }
  return value.filter(isObject);
}

function readOutgoing(body: unknown): OutgoingMessage {
  if (body === undefined) return { hasStickersOrPoll: false };
  if (!isObject(body)) throw invalidJson();
  const errors = new FormErrors();
  const out: OutgoingMessage = {
    hasStickersOrPoll:
      (Array.isArray(body.sticker_ids) && body.sticker_ids.length > 0) || isObject(body.poll),
  };
  for (const key of ['content', 'username', 'avatar_url'] as const) {
    const value = body[key];
    if (value === undefined || value === null) continue;
    if (typeof value === 'string') out[key] = value;
    else errors.add([key], 'BASE_TYPE_STRING', 'Must be a string.');
  }
  const embeds = readObjectArray(errors, body, 'embeds');
  if (embeds) out.embeds = embeds;
  const components = readObjectArray(errors, body, 'components');
  if (components) out.components = components;
  const attachments = readObjectArray(errors, body, 'attachments');
  if (attachments) out.attachments = attachments;
  if (isObject(body.allowed_mentions)) out.allowed_mentions = body.allowed_mentions;
  if (isObject(body.message_reference)) out.message_reference = body.message_reference;
  if (typeof body.flags === 'number') out.flags = body.flags;
  if (typeof body.tts === 'boolean') out.tts = body.tts;
  errors.throwIfAny();
  return out;
}

function validateEmbeds(errors: FormErrors, embeds: JsonObject[]): void {
  if (embeds.length > 10) errors.add(['embeds'], 'BASE_TYPE_MAX_LENGTH', 'Must be 10 or fewer in length.');
  let total = 0;
  const count = (value: unknown) => {
    if (typeof value === 'string') total += value.length;
  };
  embeds.forEach((embed, index) => {
    checkLength(errors, ['embeds', index, 'title'], embed.title, 256);
    checkLength(errors, ['embeds', index, 'description'], embed.description, 4096);
    count(embed.title);
    count(embed.description);
    if (isObject(embed.footer)) {
      checkLength(errors, ['embeds', index, 'footer', 'text'], embed.footer.text, 2048);
      count(embed.footer.text);
    }
    if (isObject(embed.author)) {
      checkLength(errors, ['embeds', index, 'author', 'name'], embed.author.name, 256);
      count(embed.author.name);
    }
    const fields = Array.isArray(embed.fields) ? embed.fields.filter(isObject) : [];
    if (fields.length > 25) {
      errors.add(['embeds', index, 'fields'], 'BASE_TYPE_MAX_LENGTH', 'Must be 25 or fewer in length.');
    }
    fields.forEach((field, fieldIndex) => {
      checkLength(errors, ['embeds', index, 'fields', fieldIndex, 'name'], field.name, 256);
      checkLength(errors, ['embeds', index, 'fields', fieldIndex, 'value'], field.value, 1024);
      count(field.name);
      count(field.value);
    });
  });
  if (total > 6000) {
    errors.add(['embeds'], 'MAX_EMBED_SIZE_EXCEEDED', 'Embed size exceeds maximum size of 6000');
  }
}

function validateComponents(errors: FormErrors, rows: JsonObject[]): void {
  if (rows.length > 5) errors.add(['components'], 'BASE_TYPE_MAX_LENGTH', 'Must be 5 or fewer in length.');
  const customIds = new Set<string>();
  rows.forEach((row, rowIndex) => {
    const children = Array.isArray(row.components) ? row.components.filter(isObject) : [];
    if (row.type === 1 && children.length > 5) {
      errors.add(
        ['components', rowIndex, 'components'],
        'BASE_TYPE_MAX_LENGTH',
        'Must be 5 or fewer in length.',
      );
    }
    children.forEach((child, childIndex) => {
      const path = ['components', rowIndex, 'components', childIndex];
      checkLength(errors, [...path, 'label'], child.label, 80);
      if (typeof child.custom_id !== 'string') return;
      checkBetween(errors, [...path, 'custom_id'], child.custom_id, 1, 100);
      if (customIds.has(child.custom_id)) {
        errors.add(
          [...path, 'custom_id'],
          'COMPONENT_CUSTOM_ID_DUPLICATED',
          'Component custom id cannot be duplicated',
        );
      }
      customIds.add(child.custom_id);
    });
  });
}

/** Discord's checks on a message body: limits first (50035), then emptiness (50006). */
function validateOutgoing(
  message: OutgoingMessage,
  files: UploadedFile[],
  options: { isEdit: boolean },
): void {
  const errors = new FormErrors();
  checkLength(errors, ['content'], message.content, MAX_CONTENT_LENGTH);
  if (message.embeds) validateEmbeds(errors, message.embeds);
  if (message.components && ((message.flags ?? 0) & MessageFlag.IsComponentsV2) === 0) {
    validateComponents(errors, message.components);
  }
  if (files.length > MAX_FILES)
    errors.add(['files'], 'BASE_TYPE_MAX_LENGTH', 'Must be 10 or fewer in length.');
  if (message.username !== undefined) validateWebhookName(errors, ['username'], message.username);
  errors.throwIfAny();
  if (files.some((file) => file.data.length > MAX_FILE_BYTES)) {
    throw new ApiError(413, 40005, 'Request entity too large');
  }
  const isEmpty =
    (message.content ?? '').trim() === '' &&
    (message.embeds?.length ?? 0) === 0 &&
    (message.components?.length ?? 0) === 0 &&
    files.length === 0 &&
    !message.hasStickersOrPoll;
  if (isEmpty && !options.isEdit) throw new ApiError(400, 50006, 'Cannot send an empty message');
}

function validateWebhookName(errors: FormErrors, path: string[], name: string): void {
  checkBetween(errors, path, name, 1, 80);
  const lowered = name.toLowerCase();
  for (const banned of ['clyde', 'discord']) {
    if (lowered.includes(banned)) {
      errors.add(path, 'USERNAME_INVALID_CONTAINS', `Username cannot contain "${banned}"`);
    }
  }
}

function findComponent(components: unknown[], customId: string): JsonObject | undefined {
  for (const component of components) {
    if (!isObject(component)) continue;
    if (component.custom_id === customId) return component;
    if (Array.isArray(component.components)) {
      const found = findComponent(component.components, customId);
      if (found) return found;
    }
    if (isObject(component.accessory) && component.accessory.custom_id === customId)
      return component.accessory;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Internal state types
// ---------------------------------------------------------------------------------------------

interface UploadedFile {
  field: string;
  filename: string;
  contentType: string;
  data: Buffer;
  /** Driver attachments only: what the message declares and how the download behaves. */
  declaredSize?: number;
  serving?: AttachmentServing;
}

interface StoredAttachment {
  data: Buffer;
  contentType: string;
  serving: AttachmentServing;
}

interface MemberState {
  userId: string;
  roles: string[];
  joinedAt: string;
}

interface RoleState {
  id: string;
  name: string;
  permissions: bigint;
  position: number;
  managed: boolean;
  botId?: string;
}

interface ThreadMetadata {
  archived: boolean;
  locked: boolean;
  autoArchiveDuration: number;
  archiveTimestamp: string;
  createTimestamp: string;
}

interface ChannelState {
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

interface OverwriteState {
  id: string;
  type: 0 | 1;
  allow: bigint;
  deny: bigint;
}

interface WebhookState {
  id: string;
  token: string;
  channelId: string;
  name: string;
  avatar: string | null;
  applicationId: string | null;
  creatorId: string;
}

interface InteractionState {
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

interface CommandState {
  id: string;
  guildId?: string;
  body: JsonObject;
}

interface GatewaySession {
  id: string;
  intents: number;
  seq: number;
  socket: WebSocket | undefined;
  backlog: Array<{ op: 0; t: string; s: number; d: unknown }>;
}

interface GatewayConnection {
  socket: WebSocket;
  session: GatewaySession | undefined;
}

/** A fixed window: `count` requests since it opened; it reopens at `resetAt` (emulator clock). */
interface BucketState {
  count: number;
  resetAt: number;
}

type RateLimitKind = keyof RateLimitOptions;

interface RouteContext {
  method: string;
  /** The path after `/api/v10`. */
  path: string;
  query: Record<string, string>;
  body: unknown;
  files: UploadedFile[];
  param(name: string): string;
}

interface RouteResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Set on a 429: what to record in `rateLimited`. */
  limited?: { bucket: string; scope: RateLimitScope; retryAfter: number };
}

interface Route {
  method: string;
  template: string;
  segments: string[];
  /** Routes carrying a webhook or interaction token need no bot token (discord.js sends none). */
  auth: boolean;
  handler: (context: RouteContext) => RouteResult | Promise<RouteResult>;
  bucket?: (context: RouteContext) => { key: string; hash: string; kind: RateLimitKind } | undefined;
  /** Interaction endpoints are not bound to the bot's global rate limit (Discord's rate-limit docs). */
  exemptFromGlobal?: boolean;
}

const ok = (body: unknown): RouteResult => ({ status: 200, body });
const noContent = (): RouteResult => ({ status: 204 });

// ---------------------------------------------------------------------------------------------
// The emulator
// ---------------------------------------------------------------------------------------------

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
  readonly requests: RequestRecord[] = [];
  /** Every gateway dispatch, in order (before per-session content masking). */
  readonly events: DispatchRecord[] = [];
  /** Every gateway payload received from clients (op codes: 1 heartbeat, 2 identify, 6 resume, ...). */
  readonly gatewayReceived: Array<{ op: number; at: number }> = [];
  /** Every 429 the emulator answered (rate limits and injected faults), in order. */
  readonly rateLimited: RateLimitRecord[] = [];

  private readonly messageContentIntent: boolean;
  private readonly interactionAckTimeoutMs: number;
  private readonly interactionTokenLifetimeMs: number;
  private readonly server: Server;
  private readonly gateway: WebSocketServer;
  private readonly routes: Route[];
  private port = 0;
  private closed = false;
  /** While the constructor builds the initial world nothing is dispatched or logged. */
  private building = true;
  private lastSnowflake = 0n;

  private readonly users = new Map<string, EmulatedUser>();
  private readonly members = new Map<string, MemberState>();
  private readonly roles = new Map<string, RoleState>();
  private readonly channels = new Map<string, ChannelState>();
  private readonly channelMessages = new Map<string, EmulatedMessage[]>();
  /** Ephemeral interaction messages: visible to one user, never in channel history or the gateway. */
  private readonly ephemeralMessages = new Map<string, EmulatedMessage>();
  private readonly attachmentData = new Map<string, StoredAttachment>();
  private readonly messageEdits = new Map<string, MessageEdit[]>();
  private readonly dmChannelByUser = new Map<string, string>();
  private readonly webhookStates = new Map<string, WebhookState>();
  private readonly interactionStates = new Map<string, InteractionState>();
  private readonly commandStates: CommandState[] = [];
  private readonly sessions = new Map<string, GatewaySession>();
  private readonly sockets = new Set<WebSocket>();
  private readonly closedByServer = new WeakSet<WebSocket>();
  private readonly faults: Array<FaultRule & { remaining: number }> = [];
  private readonly clock: () => number;
  private readonly rateLimits: Record<RateLimitKind, RateLimit | false>;
  private readonly buckets = new Map<string, BucketState>();
  /** Per channel: when each webhook message counted by `channelWebhookMessages` was created. */
  private readonly channelWebhookMessageTimes = new Map<string, number[]>();
  private readonly botRoleId: string;

  private constructor(options: DiscordEmulatorOptions) {
    this.messageContentIntent = options.messageContentIntent ?? true;
    this.interactionAckTimeoutMs = options.interactionAckTimeoutMs ?? 3000;
    this.interactionTokenLifetimeMs = options.interactionTokenLifetimeMs ?? INTERACTION_TOKEN_LIFETIME_MS;
    this.clock = options.now ?? (() => performance.now());
    this.rateLimits = { ...DEFAULT_RATE_LIMITS, ...options.rateLimits };

    this.botUserId = this.snowflake();
    this.applicationId = this.botUserId;
    this.token = `${Buffer.from(this.botUserId).toString('base64url')}.${randomToken(4)}.${randomToken(20)}`;
    this.users.set(this.botUserId, {
      id: this.botUserId,
      username: 'emulated-bot',
      discriminator: '0',
      avatar: null,
      bot: true,
    });

    this.guildId = this.snowflake();
    // Discord's rule: the @everyone role's id is the guild id. It grants nothing here, so the
    // bot's permissions are exactly what `setBotPermissions` says.
    this.roles.set(this.guildId, {
      id: this.guildId,
      name: '@everyone',
      permissions: 0n,
      position: 0,
      managed: false,
    });
    this.memberRoleId = this.snowflake();
    this.roles.set(this.memberRoleId, {
      id: this.memberRoleId,
      name: 'member',
      permissions: DEFAULT_MEMBER_PERMISSIONS,
      position: 1,
      managed: false,
    });
    this.botRoleId = this.snowflake();
    this.roles.set(this.botRoleId, {
      id: this.botRoleId,
      name: 'emulated-bot',
      permissions: DEFAULT_BOT_PERMISSIONS,
      position: 2,
      managed: true,
      botId: this.botUserId,
    });
    this.members.set(this.botUserId, { userId: this.botUserId, roles: [this.botRoleId], joinedAt: nowIso() });
    this.ownerId = this.createUser('owner');
    this.channelId = this.createChannel('general');
    this.building = false;

    this.routes = this.buildRoutes();
    this.server = createServer((request, response) => {
      void this.handleHttp(request, response);
    });
    this.gateway = new WebSocketServer({ noServer: true });
    this.server.on('upgrade', (request, socket, head) => {
      this.gateway.handleUpgrade(request, socket, head, (ws) => this.onGatewayConnection(ws));
    });
  }

  static async start(options: DiscordEmulatorOptions = {}): Promise<DiscordEmulator> {
    const emulator = new DiscordEmulator(options);
    await new Promise<void>((resolve, reject) => {
      emulator.server.once('error', reject);
      emulator.server.listen(0, '127.0.0.1', () => resolve());
    });
    emulator.port = (emulator.server.address() as AddressInfo).port;
    return emulator;
  }

  /** `http://127.0.0.1:PORT`: where attachments are served. */
  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** For discord.js `rest.api`. */
  get apiUrl(): string {
    return `${this.baseUrl}/api`;
  }

  get gatewayUrl(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  /** Whether a gateway session is identified and connected. */
  get connected(): boolean {
    return [...this.sessions.values()].some((session) => session.socket !== undefined);
  }

  /**
   * Gateway sessions that still exist: connected, or dropped but resumable. A bot that logged out
   * (closed with 1000/1001) has none; events dispatched then reach nobody, ever.
   */
  get sessionCount(): number {
    return this.sessions.size;
  }

  // ------------------------------------------------------------------------------------------
  // World building
  // ------------------------------------------------------------------------------------------

  /** Another guild text channel, optionally with permission overwrites; dispatches CHANNEL_CREATE. */
  createChannel(name: string, options: { overwrites?: ChannelOverwrite[] } = {}): string {
    const id = this.snowflake();
    const channel: ChannelState = {
      id,
      type: ChannelType.GuildText,
      name,
      guildId: this.guildId,
      position: [...this.channels.values()].filter((c) => c.type === ChannelType.GuildText).length,
      messageCount: 0,
      totalMessageSent: 0,
      overwrites: (options.overwrites ?? []).map((overwrite) => this.overwriteState(overwrite)),
    };
    this.channels.set(id, channel);
    this.channelMessages.set(id, []);
    this.dispatch('CHANNEL_CREATE', this.channelPayload(channel), Intent.Guilds);
    return id;
  }

  createRole(name: string, options: { permissions?: bigint } = {}): string {
    const id = this.snowflake();
    const role: RoleState = {
      id,
      name,
      permissions: options.permissions ?? 0n,
      position: this.roles.size,
      managed: false,
    };
    this.roles.set(id, role);
    this.dispatch(
      'GUILD_ROLE_CREATE',
      { guild_id: this.guildId, role: this.rolePayload(role) },
      Intent.Guilds,
    );
    return id;
  }

  /**
   * A guild member (and a user) with the `member` role (`memberRoleId`) plus `roles`. Dispatches
   * GUILD_MEMBER_ADD to sessions with the GuildMembers intent.
   */
  createUser(username: string, options: { roles?: string[]; bot?: boolean } = {}): string {
    const id = this.snowflake();
    for (const role of options.roles ?? []) {
      if (!this.roles.has(role)) throw new Error(`createUser: unknown role ${role}`);
    }
    const user: EmulatedUser = { id, username, discriminator: '0', global_name: username, avatar: null };
    if (options.bot) user.bot = true;
    this.users.set(id, user);
    const roles = [this.memberRoleId, ...(options.roles ?? []).filter((role) => role !== this.memberRoleId)];
    this.members.set(id, { userId: id, roles, joinedAt: nowIso() });
    this.dispatch(
      'GUILD_MEMBER_ADD',
      { guild_id: this.guildId, ...this.memberPayload(id) },
      Intent.GuildMembers,
    );
    return id;
  }

  /** Gives a member more roles (GUILD_MEMBER_UPDATE). */
  addRole(userId: string, roleId: string): void {
    const member = this.requireMember(userId);
    if (!this.roles.has(roleId)) throw new Error(`addRole: unknown role ${roleId}`);
    if (!member.roles.includes(roleId)) member.roles.push(roleId);
    this.dispatch(
      'GUILD_MEMBER_UPDATE',
      { guild_id: this.guildId, ...this.memberPayload(userId) },
      Intent.GuildMembers,
    );
  }

  /** Takes a role from a member (GUILD_MEMBER_UPDATE); taking `memberRoleId` leaves them no default rights. */
  removeRole(userId: string, roleId: string): void {
    const member = this.requireMember(userId);
    member.roles = member.roles.filter((role) => role !== roleId);
    this.dispatch(
      'GUILD_MEMBER_UPDATE',
      { guild_id: this.guildId, ...this.memberPayload(userId) },
      Intent.GuildMembers,
    );
  }

  /**
   * Replaces a guild text channel's permission overwrites; dispatches CHANNEL_UPDATE so discord.js's
   * `channel.permissionsFor(member)` sees them. Threads follow their parent's.
   */
  setChannelOverwrites(channelId: string, overwrites: ChannelOverwrite[]): void {
    const channel = this.requireOverwritable(channelId, 'setChannelOverwrites');
    channel.overwrites = overwrites.map((overwrite) => this.overwriteState(overwrite));
    this.dispatch('CHANNEL_UPDATE', this.channelPayload(channel), Intent.Guilds);
  }

  /**
   * Sets the overwrite for one role or member (an `allow` and `deny` of 0 removes it); dispatches
   * CHANNEL_UPDATE.
   */
  setChannelOverwrite(channelId: string, targetId: string, bits: { allow?: bigint; deny?: bigint }): void {
    const channel = this.requireOverwritable(channelId, 'setChannelOverwrite');
    const next = this.overwriteState({ id: targetId, ...bits });
    const others = channel.overwrites.filter((overwrite) => overwrite.id !== targetId);
    channel.overwrites = next.allow === 0n && next.deny === 0n ? others : [...others, next];
    this.dispatch('CHANNEL_UPDATE', this.channelPayload(channel), Intent.Guilds);
  }

  /**
   * Denies View Channel in a channel (and its threads) to a member or a role, keeping the rest of
   * that overwrite. Hiding it from @everyone (the guild id) hides it from the bot too, as on
   * Discord: allow it back with `setChannelOverwrite(channelId, botUserId, { allow: ViewChannel })`.
   */
  hideChannelFrom(channelId: string, userOrRoleId: string): void {
    const channel = this.requireOverwritable(channelId, 'hideChannelFrom');
    const current = channel.overwrites.find((overwrite) => overwrite.id === userOrRoleId);
    this.setChannelOverwrite(channelId, userOrRoleId, {
      allow: (current?.allow ?? 0n) & ~Permission.ViewChannel,
      deny: (current?.deny ?? 0n) | Permission.ViewChannel,
    });
  }

  /**
   * A member's permissions in a channel or thread, computed as Discord (and discord.js's
   * `permissionsFor`) does: guild roles, then the channel's overwrites; owner and Administrator
   * get everything. A thread answers for its parent.
   */
  channelPermissions(userId: string, channelId: string): bigint {
    return this.permissionsIn(userId, this.requireChannel(channelId));
  }

  /**
   * The bot's permissions in the guild (its managed role's bitfield; @everyone grants nothing).
   * Dispatches GUILD_ROLE_UPDATE so discord.js sees the change.
   */
  setBotPermissions(permissions: bigint): void {
    const role = this.roles.get(this.botRoleId)!;
    role.permissions = permissions;
    this.dispatch(
      'GUILD_ROLE_UPDATE',
      { guild_id: this.guildId, role: this.rolePayload(role) },
      Intent.Guilds,
    );
  }

  /** The bot's guild-level permissions (roles only; `channelPermissions(botUserId, id)` adds overwrites). */
  get botPermissions(): bigint {
    return this.permissionsOf(this.botUserId);
  }

  /**
   * Archives (and optionally locks) a thread, as Discord's auto-archive does; `at` sets its
   * `archive_timestamp` (default now).
   */
  archiveThread(threadId: string, options: { locked?: boolean; at?: Date } = {}): void {
    const thread = this.channels.get(threadId);
    if (!thread?.thread) throw new Error(`archiveThread: ${threadId} is not a thread`);
    thread.thread.archived = true;
    thread.thread.archiveTimestamp = (options.at ?? new Date()).toISOString();
    if (options.locked !== undefined) thread.thread.locked = options.locked;
    this.dispatch('THREAD_UPDATE', this.channelPayload(thread), Intent.Guilds);
  }

  /** A webhook somebody else (not the bot's application) created in a channel. */
  createUserWebhook(channelId: string, name: string): EmulatedWebhook {
    const channel = this.requireChannel(channelId);
    const webhook: WebhookState = {
      id: this.snowflake(),
      token: randomToken(51),
      channelId: channel.id,
      name,
      avatar: null,
      applicationId: null,
      creatorId: this.ownerId,
    };
    this.webhookStates.set(webhook.id, webhook);
    return this.webhookSummary(webhook);
  }

  // ------------------------------------------------------------------------------------------
  // Driver: what users do
  // ------------------------------------------------------------------------------------------

  /** A member posts in a guild channel or thread: stored, then MESSAGE_CREATE. */
  userSays(
    userId: string,
    channelId: string,
    content: string,
    options: {
      mentionBot?: boolean;
      /** Files served at the attachment URL; `serving` makes the download misbehave. */
      attachments?: UserAttachment[];
      /** Makes it a reply to this message. */
      replyTo?: string;
    } = {},
  ): EmulatedMessage {
    const author = this.requireUser(userId);
    const channel = this.requireChannel(channelId);
    const send = channel.thread ? Permission.SendMessagesInThreads : Permission.SendMessages;
    const attach = (options.attachments?.length ?? 0) > 0 ? Permission.AttachFiles : 0n;
    this.requireMemberCan('userSays', userId, channel, send | attach);
    const text = options.mentionBot ? `<@${this.botUserId}> ${content}` : content;
    const files: UploadedFile[] = (options.attachments ?? []).map((attachment, index) => {
      const file: UploadedFile = {
        field: `files[${index}]`,
        filename: attachment.filename,
        contentType:
          attachment.contentType ?? guessContentType(attachment.filename) ?? 'application/octet-stream',
        data: typeof attachment.content === 'string' ? Buffer.from(attachment.content) : attachment.content,
      };
      if (attachment.size !== undefined) file.declaredSize = attachment.size;
      if (attachment.serving) file.serving = attachment.serving;
      return file;
    });
    const outgoing: OutgoingMessage = { content: text, hasStickersOrPoll: false };
    if (options.replyTo) outgoing.message_reference = { message_id: options.replyTo };
    const message = this.postMessage({ channel, author, outgoing, files, authorIsBot: false });
    return structuredClone(message);
  }

  /** A user writes to the bot in DMs (channel type 1; MESSAGE_CREATE without guild_id). */
  userDMs(userId: string, content: string): EmulatedMessage {
    const author = this.requireUser(userId);
    const channel = this.dmChannelFor(userId);
    const message = this.postMessage({
      channel,
      author,
      outgoing: { content, hasStickersOrPoll: false },
      files: [],
      authorIsBot: false,
    });
    return structuredClone(message);
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
    this.requireUser(userId);
    const channel = this.requireChannel(channelId);
    this.requireMemberCan('runCommand', userId, channel, Permission.UseApplicationCommands);
    const guildId = channel.guildId;
    const command =
      this.commandStates.find(
        (c) => guildId !== undefined && c.guildId === guildId && c.body.name === name,
      ) ?? this.commandStates.find((c) => c.guildId === undefined && c.body.name === name);
    const definitions = Array.isArray(command?.body.options) ? command.body.options.filter(isObject) : [];
    const subDefinitions = subcommand
      ? definitions.find((definition) => definition.name === subcommand)?.options
      : definitions;
    const resolved: Record<string, JsonObject> = {};
    const built = Object.entries(options).map(([optionName, value]) => {
      const option = this.commandOption(
        optionName,
        value,
        Array.isArray(subDefinitions) ? subDefinitions.filter(isObject) : [],
        resolved,
      );
      // What the member is typing: a partial value, sent as typed.
      return optionName === focused ? { ...option, value: String(value), focused: true } : option;
    });
    const data: JsonObject = {
      id: command?.id ?? this.snowflake(),
      name,
      type: 1,
    };
    if (subcommand) data.options = [{ name: subcommand, type: 1, options: built }];
    else if (built.length > 0) data.options = built;
    if (Object.keys(resolved).length > 0) data.resolved = resolved;
    if (command?.guildId) data.guild_id = command.guildId;

    const state = this.newInteraction(
      focused === undefined ? InteractionType.ApplicationCommand : InteractionType.Autocomplete,
      userId,
      channel,
    );
    state.record.commandName = name;
    this.dispatchInteraction(state, { data });
    return state.record;
  }

  /** A member clicks a button on a message: INTERACTION_CREATE type 3 with the full message. */
  async clickButton(userId: string, messageId: string, customId: string): Promise<InteractionRecord> {
    this.requireUser(userId);
    const message = this.findMessage(messageId);
    if (!message) throw new Error(`clickButton: unknown message ${messageId}`);
    const button = findComponent(message.components, customId);
    if (!button)
      throw new Error(`clickButton: message ${messageId} has no component with custom_id "${customId}"`);
    if (button.disabled === true) throw new Error(`clickButton: button "${customId}" is disabled`);
    const channel = this.requireChannel(message.channel_id);
    this.requireMemberCan('clickButton', userId, channel, Permission.ViewChannel);
    const state = this.newInteraction(InteractionType.MessageComponent, userId, channel);
    state.record.customId = customId;
    state.componentMessageId = message.id;
    this.dispatchInteraction(state, {
      data: { custom_id: customId, component_type: 2 },
      message: this.restMessage(message),
    });
    return state.record;
  }

  // ------------------------------------------------------------------------------------------
  // Inspection
  // ------------------------------------------------------------------------------------------

  /** The channel's (or thread's) messages, oldest first. */
  messages(channelId: string): EmulatedMessage[] {
    return structuredClone(this.channelMessages.get(channelId) ?? []);
  }

  /**
   * Every edit of a message (by the bot, a webhook or an interaction response), oldest first, with
   * the content after each; empty if it was never edited. Kept after the message is deleted.
   */
  edits(messageId: string): MessageEdit[] {
    return structuredClone(this.messageEdits.get(messageId) ?? []);
  }

  /** A message by id, including ephemeral interaction messages. */
  message(messageId: string): EmulatedMessage | undefined {
    const message = this.findMessage(messageId);
    return message ? structuredClone(message) : undefined;
  }

  threads(): Array<{ id: string; name: string; parent_id: string; owner_id: string; archived: boolean }> {
    return [...this.channels.values()]
      .filter((channel) => channel.thread !== undefined)
      .map((channel) => ({
        id: channel.id,
        name: channel.name,
        parent_id: channel.parentId ?? '',
        owner_id: channel.ownerId ?? '',
        archived: channel.thread?.archived ?? false,
      }));
  }

  webhooks(): EmulatedWebhook[] {
    return [...this.webhookStates.values()].map((webhook) => this.webhookSummary(webhook));
  }

  /** The live record of an interaction (it keeps filling in as the bot responds). */
  interaction(id: string): InteractionRecord {
    const state = this.interactionStates.get(id);
    if (!state) throw new Error(`interaction: unknown interaction ${id}`);
    return state.record;
  }

  /** Registered commands: global ones, or a guild's. */
  commands(guildId?: string): JsonObject[] {
    return structuredClone(
      this.commandStates.filter((c) => c.guildId === guildId).map((c) => this.commandPayload(c)),
    );
  }

  /** Requests that matched no route (answered 404 `{code: 0}`). */
  unknownRoutes(): RequestRecord[] {
    return this.requests.filter((request) => request.route === undefined);
  }

  /** Polls `check` every 10 ms until it returns something other than undefined/null/false. */
  async waitFor<T>(check: () => T | undefined | null | false, timeoutMs = 5000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown;
    for (;;) {
      try {
        const value = check();
        if (value !== undefined && value !== null && value !== false) return value;
      } catch (error) {
        lastError = error;
      }
      if (Date.now() >= deadline) break;
      await sleep(10);
    }
    const recent = this.requests
      .slice(-8)
      .map((r) => `${r.method} ${r.path} → ${r.status}`)
      .join('; ');
    const detail = lastError instanceof Error ? ` Last error: ${lastError.message}.` : '';
    throw new Error(
      `waitFor timed out after ${timeoutMs} ms: ${check.toString().slice(0, 200)}.${detail} Recent requests: ${recent || 'none'}`,
    );
  }

  // ------------------------------------------------------------------------------------------
  // Faults
  // ------------------------------------------------------------------------------------------

  /** The next `times` requests matching method and path are answered with this error. */
  failNext(rule: FaultRule): void {
    this.faults.push({ ...rule, remaining: rule.times ?? 1 });
  }

  /** Deletes a webhook as if a moderator did; later executes answer 404 10015 Unknown Webhook. */
  deleteWebhook(id: string): void {
    const webhook = this.webhookStates.get(id);
    if (!webhook) throw new Error(`deleteWebhook: unknown webhook ${id}`);
    this.webhookStates.delete(id);
    this.dispatch(
      'WEBHOOKS_UPDATE',
      { guild_id: this.guildId, channel_id: webhook.channelId },
      Intent.GuildWebhooks,
    );
  }

  /**
   * Replaces the given rate limits (`false` turns one off) and forgets what they had counted; the
   * others keep their settings and counts. See `RateLimitOptions` for what each one limits.
   */
  setRateLimits(limits: RateLimitOptions): void {
    for (const kind of Object.keys(limits) as RateLimitKind[]) {
      const value = limits[kind];
      if (value === undefined) continue;
      this.rateLimits[kind] = value;
      if (kind === 'channelWebhookMessages') this.channelWebhookMessageTimes.clear();
      else this.clearBuckets(BUCKET_PREFIX[kind]);
    }
  }

  /** The rate limits in force (a copy). */
  get rateLimitSettings(): Record<RateLimitKind, RateLimit | false> {
    return structuredClone(this.rateLimits);
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
    for (const socket of this.sockets) {
      this.closedByServer.add(socket);
      socket.close(code, 'Dropped by the emulator');
    }
  }

  /** Closes the gateway and the HTTP server, terminating open sockets. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const socket of this.sockets) socket.terminate();
    await new Promise<void>((resolve) => this.gateway.close(() => resolve()));
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ------------------------------------------------------------------------------------------
  // State helpers
  // ------------------------------------------------------------------------------------------

  /** A real snowflake (discord.js sorts by `BigInt(id)`); the low 22 bits count ids within a millisecond. */
  private snowflake(): string {
    let id = (BigInt(Date.now()) - DISCORD_EPOCH) << 22n;
    if (id <= this.lastSnowflake) id = this.lastSnowflake + 1n;
    this.lastSnowflake = id;
    return id.toString();
  }

  private requireUser(userId: string): EmulatedUser {
    const user = this.users.get(userId);
    if (!user) throw new Error(`unknown user ${userId}`);
    return user;
  }

  private requireMember(userId: string): MemberState {
    const member = this.members.get(userId);
    if (!member) throw new Error(`unknown member ${userId}`);
    return member;
  }

  private requireChannel(channelId: string): ChannelState {
    const channel = this.channels.get(channelId);
    if (!channel) throw new Error(`unknown channel ${channelId}`);
    return channel;
  }

  private clearBuckets(prefix: string): void {
    for (const key of this.buckets.keys()) {
      if (key === prefix || key.startsWith(`${prefix}:`)) this.buckets.delete(key);
    }
  }

  /** Guild-level permissions: @everyone and the member's roles; owner and Administrator get all. */
  private permissionsOf(userId: string): bigint {
    if (userId === this.ownerId) return ALL_PERMISSIONS;
    const member = this.members.get(userId);
    if (!member) return 0n;
    let permissions = this.roles.get(this.guildId)?.permissions ?? 0n;
    for (const roleId of member.roles) permissions |= this.roles.get(roleId)?.permissions ?? 0n;
    return (permissions & Permission.Administrator) !== 0n ? ALL_PERMISSIONS : permissions;
  }

  /**
   * Discord's channel permissions: the guild-level ones, then the @everyone overwrite, then the
   * member's role overwrites together, then the member's own; deny before allow at each step.
   * Implicit denials (nothing without View Channel) are left to the callers, as discord.js's
   * `permissionsFor` leaves them.
   */
  private permissionsIn(userId: string, channel: ChannelState): bigint {
    if (channel.type === ChannelType.DM) return ALL_PERMISSIONS;
    const source = channel.thread && channel.parentId ? this.channels.get(channel.parentId) : channel;
    let permissions = this.permissionsOf(userId);
    if (permissions === ALL_PERMISSIONS || !source) return permissions;
    const apply = (allow: bigint, deny: bigint) => {
      permissions = (permissions & ~deny) | allow;
    };
    const everyone = source.overwrites.find((overwrite) => overwrite.id === this.guildId);
    if (everyone) apply(everyone.allow, everyone.deny);
    const roles = new Set(this.members.get(userId)?.roles ?? []);
    let allow = 0n;
    let deny = 0n;
    for (const overwrite of source.overwrites) {
      if (overwrite.type !== 0 || overwrite.id === this.guildId || !roles.has(overwrite.id)) continue;
      allow |= overwrite.allow;
      deny |= overwrite.deny;
    }
    apply(allow, deny);
    const own = source.overwrites.find((overwrite) => overwrite.type === 1 && overwrite.id === userId);
    if (own) apply(own.allow, own.deny);
    return permissions;
  }

  /** Whether the bot can see the channel and has `needed` there. */
  private botCan(channel: ChannelState, needed: bigint): boolean {
    const permissions = this.permissionsIn(this.botUserId, channel);
    return hasPermission(permissions, Permission.ViewChannel) && hasPermission(permissions, needed);
  }

  private requireBotPermission(channel: ChannelState, needed: bigint): void {
    if (channel.type === ChannelType.DM) return;
    const permissions = this.permissionsIn(this.botUserId, channel);
    if (!hasPermission(permissions, Permission.ViewChannel)) throw missingAccess();
    if (!hasPermission(permissions, needed)) throw missingPermissions();
  }

  /** Driver guard: a member cannot act where they cannot see (or lack `needed`). */
  private requireMemberCan(action: string, userId: string, channel: ChannelState, needed: bigint): void {
    if (channel.type === ChannelType.DM) return;
    const permissions = this.permissionsIn(userId, channel);
    const missing = Object.entries(Permission)
      .filter(([, bit]) => (needed | Permission.ViewChannel) & bit)
      .filter(([, bit]) => !hasPermission(permissions, bit))
      .map(([name]) => name);
    if (missing.length > 0) {
      const who = this.users.get(userId)?.username ?? userId;
      throw new Error(`${action}: ${who} lacks ${missing.join(', ')} in #${channel.name} (${channel.id})`);
    }
  }

  private overwriteState(overwrite: ChannelOverwrite): OverwriteState {
    const type = overwrite.type ?? (this.roles.has(overwrite.id) ? 0 : 1);
    if (type === 0 && !this.roles.has(overwrite.id))
      throw new Error(`overwrite: unknown role ${overwrite.id}`);
    if (type === 1 && !this.members.has(overwrite.id))
      throw new Error(`overwrite: unknown member ${overwrite.id}`);
    return { id: overwrite.id, type, allow: overwrite.allow ?? 0n, deny: overwrite.deny ?? 0n };
  }

  private requireOverwritable(channelId: string, action: string): ChannelState {
    const channel = this.requireChannel(channelId);
    if (channel.type !== ChannelType.GuildText) {
      throw new Error(`${action}: ${channelId} is not a guild text channel (threads follow their parent)`);
    }
    return channel;
  }

  private dmChannelFor(userId: string): ChannelState {
    const existing = this.dmChannelByUser.get(userId);
    if (existing) return this.requireChannel(existing);
    const channel: ChannelState = {
      id: this.snowflake(),
      type: ChannelType.DM,
      name: '',
      recipientId: userId,
      position: 0,
      messageCount: 0,
      totalMessageSent: 0,
      overwrites: [],
    };
    this.channels.set(channel.id, channel);
    this.channelMessages.set(channel.id, []);
    this.dmChannelByUser.set(userId, channel.id);
    return channel;
  }

  private findMessage(messageId: string): EmulatedMessage | undefined {
    const ephemeral = this.ephemeralMessages.get(messageId);
    if (ephemeral) return ephemeral;
    for (const list of this.channelMessages.values()) {
      const found = list.find((message) => message.id === messageId);
      if (found) return found;
    }
    return undefined;
  }

  private findChannelMessage(channelId: string, messageId: string): EmulatedMessage {
    const found = this.channelMessages.get(channelId)?.find((message) => message.id === messageId);
    if (!found) throw unknownMessage();
    return found;
  }

  private storeAttachment(channelId: string, file: UploadedFile, filename: string): EmulatedAttachment {
    const id = this.snowflake();
    const url = `${this.baseUrl}/attachments/${channelId}/${id}/${encodeURIComponent(filename)}`;
    const contentType = file.contentType || guessContentType(filename) || 'application/octet-stream';
    this.attachmentData.set(id, {
      data: file.data,
      contentType,
      serving: file.serving ?? { kind: 'normal' },
    });
    const size = file.declaredSize ?? file.data.length;
    const attachment: EmulatedAttachment = { id, filename, size, url, proxy_url: url };
    attachment.content_type = contentType;
    return attachment;
  }

  private attachmentsFor(
    channelId: string,
    outgoing: OutgoingMessage,
    files: UploadedFile[],
  ): EmulatedAttachment[] {
    return files.map((file, index) => {
      // payload_json's `attachments[].id` refers to `files[id]`; it may rename the file.
      const declared = outgoing.attachments?.find(
        (attachment) => String(attachment.id) === String(index) || file.field === `files[${attachment.id}]`,
      );
      const filename = typeof declared?.filename === 'string' ? declared.filename : file.filename;
      return this.storeAttachment(channelId, file, filename);
    });
  }

  /** Fills `mentions`, `mention_roles` and `mention_everyone` as Discord does, honouring allowed_mentions. */
  private resolveMentions(
    content: string,
    allowed: JsonObject | undefined,
    author: { isBot: boolean; isWebhook: boolean },
    referenced: EmulatedMessage | undefined,
    channel: ChannelState | undefined,
  ): Pick<EmulatedMessage, 'mentions' | 'mention_roles' | 'mention_everyone'> {
    const userIds = [...new Set([...content.matchAll(/<@!?(\d{17,20})>/g)].map((match) => match[1] ?? ''))];
    const roleIds = [...new Set([...content.matchAll(/<@&(\d{17,20})>/g)].map((match) => match[1] ?? ''))];
    let everyone = /@(everyone|here)\b/.test(content);
    let users = userIds.filter((id) => this.users.has(id));
    let roles = roleIds.filter((id) => this.roles.has(id));
    let repliedUser = true;
    if (allowed) {
      const parse = Array.isArray(allowed.parse) ? allowed.parse : [];
      const allowedUsers = Array.isArray(allowed.users) ? allowed.users.map(String) : [];
      const allowedRoles = Array.isArray(allowed.roles) ? allowed.roles.map(String) : [];
      if (!parse.includes('users')) users = users.filter((id) => allowedUsers.includes(id));
      if (!parse.includes('roles')) roles = roles.filter((id) => allowedRoles.includes(id));
      if (!parse.includes('everyone')) everyone = false;
      repliedUser = allowed.replied_user === true;
    }
    if (
      author.isBot &&
      !author.isWebhook &&
      !hasPermission(
        channel ? this.permissionsIn(this.botUserId, channel) : this.botPermissions,
        Permission.MentionEveryone,
      )
    ) {
      everyone = false;
    }
    if (
      referenced &&
      repliedUser &&
      !users.includes(referenced.author.id) &&
      this.users.has(referenced.author.id)
    ) {
      users.push(referenced.author.id);
    }
    return {
      mentions: users.map((id) => structuredClone(this.requireUser(id))),
      mention_roles: roles,
      mention_everyone: everyone,
    };
  }

  /** Stores a message (unless ephemeral), updates the channel and dispatches MESSAGE_CREATE. */
  private postMessage(input: {
    channel: ChannelState;
    author: EmulatedUser;
    outgoing: OutgoingMessage;
    files: UploadedFile[];
    authorIsBot: boolean;
    webhookId?: string;
    type?: number;
    interactionMetadata?: JsonObject;
    ephemeral?: boolean;
    extraFlags?: number;
    /** For system messages that point somewhere (a thread-created notice points at its thread). */
    systemReference?: JsonObject;
  }): EmulatedMessage {
    const { channel, outgoing } = input;
    this.reopenThreadForPost(channel);
    let referenced: EmulatedMessage | undefined;
    const reference = outgoing.message_reference;
    if (reference && typeof reference.message_id === 'string') {
      referenced = this.channelMessages.get(channel.id)?.find((m) => m.id === reference.message_id);
      if (!referenced && reference.fail_if_not_exists !== false) {
        const errors = new FormErrors();
        errors.add(['message_reference'], 'REPLIES_UNKNOWN_MESSAGE', 'Unknown message');
        errors.throwIfAny();
      }
    }
    const content = outgoing.content ?? '';
    const message: EmulatedMessage = {
      id: this.snowflake(),
      type: input.type ?? (referenced ? MessageType.Reply : MessageType.Default),
      channel_id: channel.id,
      content,
      author: structuredClone(input.author),
      embeds: outgoing.embeds ?? [],
      components: outgoing.components ?? [],
      attachments: this.attachmentsFor(channel.id, outgoing, input.files),
      ...this.resolveMentions(
        content,
        outgoing.allowed_mentions,
        { isBot: input.authorIsBot, isWebhook: input.webhookId !== undefined },
        referenced,
        channel,
      ),
      timestamp: nowIso(),
      edited_timestamp: null,
      tts: outgoing.tts ?? false,
      pinned: false,
      flags: ((outgoing.flags ?? 0) & ~MessageFlag.Loading) | (input.extraFlags ?? 0),
    };
    if (channel.guildId) message.guild_id = channel.guildId;
    if (input.webhookId) message.webhook_id = input.webhookId;
    if (input.interactionMetadata) {
      message.interaction_metadata = input.interactionMetadata;
      message.application_id = this.applicationId;
    }
    if (outgoing.allowed_mentions) message.allowed_mentions = outgoing.allowed_mentions;
    if (outgoing.avatar_url) message.avatar_url = outgoing.avatar_url;
    if (referenced) {
      message.message_reference = { type: 0, message_id: referenced.id, channel_id: channel.id };
      if (channel.guildId) (message.message_reference as JsonObject).guild_id = channel.guildId;
      const { referenced_message: _nested, ...quoted } = referenced;
      message.referenced_message = structuredClone(quoted);
    }
    if (input.systemReference) message.message_reference = input.systemReference;
    if (input.ephemeral) {
      this.ephemeralMessages.set(message.id, message);
      return message;
    }
    this.channelMessages.get(channel.id)?.push(message);
    channel.lastMessageId = message.id;
    // Posting in a thread joins it (webhooks are not members).
    if (channel.members && !input.webhookId && !channel.members.has(input.author.id)) {
      channel.members.set(input.author.id, message.timestamp);
    }
    if (channel.thread) {
      channel.messageCount += 1;
      channel.totalMessageSent += 1;
    }
    this.dispatchMessage('MESSAGE_CREATE', message);
    return message;
  }

  /** Posting into an archived, unlocked thread unarchives it (Discord's behaviour). */
  private reopenThreadForPost(channel: ChannelState): void {
    if (!channel.thread?.archived) return;
    if (channel.thread.locked) throw new ApiError(400, 50083, 'Thread is archived');
    channel.thread.archived = false;
    channel.thread.archiveTimestamp = nowIso();
    this.dispatch('THREAD_UPDATE', this.channelPayload(channel), Intent.Guilds);
  }

  /** Applies an edit body to a message and dispatches MESSAGE_UPDATE (unless ephemeral). */
  private editMessage(message: EmulatedMessage, body: unknown, files: UploadedFile[]): EmulatedMessage {
    const outgoing = readOutgoing(body);
    validateOutgoing(outgoing, files, { isEdit: true });
    if (outgoing.content !== undefined) {
      message.content = outgoing.content;
      Object.assign(
        message,
        this.resolveMentions(
          outgoing.content,
          outgoing.allowed_mentions,
          { isBot: true, isWebhook: message.webhook_id !== undefined },
          message.referenced_message,
          this.channels.get(message.channel_id),
        ),
      );
    }
    if (outgoing.embeds) message.embeds = outgoing.embeds;
    if (outgoing.components) message.components = outgoing.components;
    if (outgoing.allowed_mentions) message.allowed_mentions = outgoing.allowed_mentions;
    if (outgoing.attachments) {
      const keep = new Set(outgoing.attachments.map((attachment) => String(attachment.id)));
      message.attachments = message.attachments.filter((attachment) => keep.has(attachment.id));
    }
    message.attachments.push(...this.attachmentsFor(message.channel_id, outgoing, files));
    if (outgoing.flags !== undefined) {
      // Only SUPPRESS_EMBEDS can be toggled by an edit.
      message.flags =
        (message.flags & ~MessageFlag.SuppressEmbeds) | (outgoing.flags & MessageFlag.SuppressEmbeds);
    }
    message.flags &= ~MessageFlag.Loading;
    message.edited_timestamp = nowIso();
    const edits = this.messageEdits.get(message.id) ?? [];
    edits.push({ content: message.content, at: this.clock() });
    this.messageEdits.set(message.id, edits);
    if (!this.ephemeralMessages.has(message.id)) this.dispatchMessage('MESSAGE_UPDATE', message);
    return message;
  }

  private removeMessage(message: EmulatedMessage): void {
    if (this.ephemeralMessages.delete(message.id)) return;
    const list = this.channelMessages.get(message.channel_id);
    const index = list?.indexOf(message) ?? -1;
    if (list && index >= 0) list.splice(index, 1);
    const payload: JsonObject = { id: message.id, channel_id: message.channel_id };
    if (message.guild_id) payload.guild_id = message.guild_id;
    const channel = this.channels.get(message.channel_id);
    // A thread's message_count drops on delete; total_message_sent does not.
    if (channel?.thread && channel.messageCount > 0) channel.messageCount -= 1;
    this.dispatch(
      'MESSAGE_DELETE',
      payload,
      channel?.type === ChannelType.DM ? Intent.DirectMessages : Intent.GuildMessages,
    );
  }

  private newInteraction(type: number, userId: string, channel: ChannelState): InteractionState {
    const state: InteractionState = {
      record: {
        id: this.snowflake(),
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
    if (channel.guildId) state.guildId = channel.guildId;
    this.interactionStates.set(state.record.id, state);
    return state;
  }

  private commandOption(
    name: string,
    value: string | number | boolean,
    definitions: JsonObject[],
    resolved: Record<string, JsonObject>,
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
    if ((type === 6 || type === 9) && this.users.has(id)) {
      add('users', id, this.users.get(id));
      if (this.members.has(id)) {
        const { user: _user, ...member } = this.memberPayload(id);
        add('members', id, { ...member, permissions: this.permissionsOf(id).toString() });
      }
    } else if ((type === 8 || type === 9) && this.roles.has(id)) {
      add('roles', id, this.rolePayload(this.roles.get(id)!));
    } else if (type === 7 && this.channels.has(id)) {
      add('channels', id, {
        ...this.channelPayload(this.channels.get(id)!),
        permissions: ALL_PERMISSIONS.toString(),
      });
    }
    return { name, type, value: type >= 6 && type <= 9 ? id : value };
  }

  private dispatchInteraction(state: InteractionState, extra: JsonObject): void {
    if (!this.connected) throw new Error('no gateway session is connected: log the client in first');
    const { record } = state;
    const channel = this.requireChannel(record.channelId);
    const payload: JsonObject = {
      id: record.id,
      application_id: this.applicationId,
      type: record.type,
      token: record.token,
      version: 1,
      channel_id: channel.id,
      channel: this.channelPayload(channel),
      app_permissions: (channel.guildId
        ? this.permissionsIn(this.botUserId, channel)
        : this.botPermissions
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
        ...this.memberPayload(record.userId),
        permissions: this.permissionsIn(record.userId, channel).toString(),
      };
      payload.authorizing_integration_owners = { '0': channel.guildId };
      payload.context = 0;
    } else {
      payload.user = this.requireUser(record.userId);
      payload.authorizing_integration_owners = { '0': channel.guildId ?? this.guildId };
      payload.context = 1;
    }
    this.dispatch('INTERACTION_CREATE', payload);
  }

  // ------------------------------------------------------------------------------------------
  // Wire payloads
  // ------------------------------------------------------------------------------------------

  private rolePayload(role: RoleState): JsonObject {
    const payload: JsonObject = {
      id: role.id,
      name: role.name,
      color: 0,
      hoist: false,
      position: role.position,
      permissions: role.permissions.toString(),
      managed: role.managed,
      mentionable: false,
      flags: 0,
    };
    if (role.botId) payload.tags = { bot_id: role.botId };
    return payload;
  }

  private memberPayload(userId: string): JsonObject {
    const member = this.requireMember(userId);
    return {
      user: this.requireUser(userId),
      roles: [...member.roles],
      joined_at: member.joinedAt,
      deaf: false,
      mute: false,
      flags: 0,
    };
  }

  private channelPayload(channel: ChannelState): JsonObject {
    if (channel.type === ChannelType.DM) {
      const payload: JsonObject = {
        id: channel.id,
        type: channel.type,
        recipients: channel.recipientId ? [this.requireUser(channel.recipientId)] : [],
        flags: 0,
      };
      if (channel.lastMessageId) payload.last_message_id = channel.lastMessageId;
      return payload;
    }
    const payload: JsonObject = {
      id: channel.id,
      type: channel.type,
      guild_id: channel.guildId,
      name: channel.name,
      rate_limit_per_user: 0,
      flags: 0,
    };
    if (channel.lastMessageId) payload.last_message_id = channel.lastMessageId;
    if (channel.thread) {
      payload.parent_id = channel.parentId;
      payload.owner_id = channel.ownerId;
      payload.message_count = channel.messageCount;
      payload.total_message_sent = channel.totalMessageSent;
      payload.member_count = Math.min(channel.members?.size ?? 1, 50);
      payload.thread_metadata = {
        archived: channel.thread.archived,
        auto_archive_duration: channel.thread.autoArchiveDuration,
        archive_timestamp: channel.thread.archiveTimestamp,
        locked: channel.thread.locked,
        create_timestamp: channel.thread.createTimestamp,
        ...(channel.type === ChannelType.PrivateThread ? { invitable: true } : {}),
      };
    } else {
      payload.position = channel.position;
      payload.permission_overwrites = channel.overwrites.map((overwrite) => ({
        id: overwrite.id,
        type: overwrite.type,
        allow: overwrite.allow.toString(),
        deny: overwrite.deny.toString(),
      }));
      payload.nsfw = false;
    }
    return payload;
  }

  private guildPayload(): JsonObject {
    return {
      id: this.guildId,
      name: 'Emulated Guild',
      icon: null,
      owner_id: this.ownerId,
      afk_timeout: 300,
      verification_level: 0,
      default_message_notifications: 1,
      explicit_content_filter: 0,
      mfa_level: 0,
      nsfw_level: 0,
      premium_tier: 0,
      premium_progress_bar_enabled: false,
      system_channel_flags: 0,
      preferred_locale: 'en-US',
      features: [],
      emojis: [],
      stickers: [],
      roles: [...this.roles.values()].map((role) => this.rolePayload(role)),
    };
  }

  private guildCreatePayload(): JsonObject {
    const channels = [...this.channels.values()];
    return {
      ...this.guildPayload(),
      unavailable: false,
      large: false,
      joined_at: this.members.get(this.botUserId)?.joinedAt,
      member_count: this.members.size,
      members: [...this.members.keys()].map((id) => this.memberPayload(id)),
      channels: channels.filter((c) => c.type === ChannelType.GuildText).map((c) => this.channelPayload(c)),
      threads: channels.filter((c) => c.thread && !c.thread.archived).map((c) => this.channelPayload(c)),
      voice_states: [],
      presences: [],
      stage_instances: [],
      guild_scheduled_events: [],
      soundboard_sounds: [],
    };
  }

  /** A message as REST returns it (without the test-only fields). */
  private restMessage(message: EmulatedMessage): JsonObject {
    const { allowed_mentions: _allowed, avatar_url: _avatar, ...wire } = message;
    return structuredClone(wire);
  }

  /** A message as the gateway dispatches it: with guild `member` data for the author and mentions. */
  private gatewayMessage(message: EmulatedMessage): JsonObject {
    const wire = this.restMessage(message);
    const channelType = this.channels.get(message.channel_id)?.type;
    if (channelType !== undefined) wire.channel_type = channelType;
    if (!message.guild_id) return wire;
    if (!message.webhook_id && this.members.has(message.author.id)) {
      const { user: _user, ...member } = this.memberPayload(message.author.id);
      wire.member = member;
    }
    wire.mentions = message.mentions.map((user) => {
      if (!this.members.has(user.id)) return user;
      const { user: _user, ...member } = this.memberPayload(user.id);
      return { ...user, member };
    });
    return wire;
  }

  private webhookPayload(webhook: WebhookState, withToken: boolean): JsonObject {
    const payload: JsonObject = {
      id: webhook.id,
      type: 1,
      guild_id: this.guildId,
      channel_id: webhook.channelId,
      name: webhook.name,
      avatar: webhook.avatar,
      application_id: webhook.applicationId,
      user: this.users.get(webhook.creatorId),
    };
    if (withToken) payload.token = webhook.token;
    return payload;
  }

  private webhookSummary(webhook: WebhookState): EmulatedWebhook {
    return {
      id: webhook.id,
      token: webhook.token,
      channel_id: webhook.channelId,
      name: webhook.name,
      application_id: webhook.applicationId,
    };
  }

  private commandPayload(command: CommandState): JsonObject {
    const payload: JsonObject = {
      type: 1,
      description: '',
      default_member_permissions: null,
      nsfw: false,
      ...command.body,
      id: command.id,
      application_id: this.applicationId,
      version: command.id,
    };
    if (command.guildId) payload.guild_id = command.guildId;
    return payload;
  }

  // ------------------------------------------------------------------------------------------
  // Gateway
  // ------------------------------------------------------------------------------------------

  private onGatewayConnection(socket: WebSocket): void {
    this.sockets.add(socket);
    const connection: GatewayConnection = { socket, session: undefined };
    socket.on('message', (data: RawData) => this.onGatewayPayload(connection, data));
    socket.on('close', (code: number) => {
      this.sockets.delete(socket);
      const session = connection.session;
      if (session?.socket !== socket) return;
      session.socket = undefined;
      // Discord: a client closing with 1000 or 1001 ends its session (the bot goes offline and
      // cannot resume); other closes leave it resumable, events queueing for RESUME.
      if ((code === 1000 || code === 1001) && !this.closedByServer.has(socket)) {
        this.sessions.delete(session.id);
      }
    });
    socket.on('error', () => socket.terminate());
    // Payloads go out as JSON text frames even if zlib-stream was asked for: discord.js parses
    // text frames as plain JSON regardless of the compression it negotiated.
    this.sendFrame(socket, { op: 10, d: { heartbeat_interval: HEARTBEAT_INTERVAL_MS }, s: null, t: null });
  }

  private sendFrame(socket: WebSocket, payload: unknown): void {
    if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(payload));
  }

  private onGatewayPayload(connection: GatewayConnection, data: RawData): void {
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
    this.gatewayReceived.push({ op: payload.op, at: Date.now() });
    const d = isObject(payload.d) ? payload.d : {};
    switch (payload.op) {
      case 1:
        this.sendFrame(connection.socket, { op: 11, d: null, s: null, t: null });
        return;
      case 2:
        this.identify(connection, d);
        return;
      case 6:
        this.resume(connection, d);
        return;
      case 3:
      case 4:
        if (!connection.session) connection.socket.close(4003, 'Not authenticated.');
        return;
      case 8:
        if (!connection.session) connection.socket.close(4003, 'Not authenticated.');
        else this.sendMembersChunk(connection.session, d);
        return;
      default:
        connection.socket.close(4001, 'Unknown opcode.');
    }
  }

  private identify(connection: GatewayConnection, d: JsonObject): void {
    if (connection.session) {
      connection.socket.close(4005, 'Already authenticated.');
      return;
    }
    if (d.token !== this.token) {
      connection.socket.close(4004, 'Authentication failed.');
      return;
    }
    if (typeof d.intents !== 'number') {
      connection.socket.close(4013, 'Invalid intent(s).');
      return;
    }
    const session: GatewaySession = {
      id: randomToken(16),
      intents: d.intents,
      seq: 0,
      socket: connection.socket,
      backlog: [],
    };
    this.sessions.set(session.id, session);
    connection.session = session;
    this.sendDispatch(session, 'READY', {
      v: 10,
      user: { ...this.requireUser(this.botUserId), verified: true, mfa_enabled: false, flags: 0 },
      guilds: [{ id: this.guildId, unavailable: true }],
      session_id: session.id,
      resume_gateway_url: this.gatewayUrl,
      shard: [0, 1],
      application: { id: this.applicationId, flags: 0 },
      private_channels: [],
      relationships: [],
      presences: [],
    });
    if (session.intents & Intent.Guilds)
      this.sendDispatch(session, 'GUILD_CREATE', this.guildCreatePayload());
  }

  private resume(connection: GatewayConnection, d: JsonObject): void {
    const session = typeof d.session_id === 'string' ? this.sessions.get(d.session_id) : undefined;
    if (!session || d.token !== this.token) {
      this.sendFrame(connection.socket, { op: 9, d: false, s: null, t: null });
      return;
    }
    const since = typeof d.seq === 'number' ? d.seq : 0;
    session.socket?.close(4009, 'Session resumed elsewhere.');
    session.socket = connection.socket;
    connection.session = session;
    for (const event of session.backlog) if (event.s > since) this.sendFrame(connection.socket, event);
    this.sendDispatch(session, 'RESUMED', {});
  }

  private sendMembersChunk(session: GatewaySession, d: JsonObject): void {
    const wanted = Array.isArray(d.user_ids)
      ? d.user_ids.map(String)
      : typeof d.user_ids === 'string'
        ? [d.user_ids]
        : undefined;
    const query = typeof d.query === 'string' ? d.query.toLowerCase() : '';
    const limit = typeof d.limit === 'number' && d.limit > 0 ? d.limit : Number.POSITIVE_INFINITY;
    const ids = [...this.members.keys()]
      .filter((id) =>
        wanted ? wanted.includes(id) : this.requireUser(id).username.toLowerCase().startsWith(query),
      )
      .slice(0, limit);
    const chunk: JsonObject = {
      guild_id: this.guildId,
      members: ids.map((id) => this.memberPayload(id)),
      chunk_index: 0,
      chunk_count: 1,
    };
    const notFound = wanted?.filter((id) => !this.members.has(id)) ?? [];
    if (notFound.length > 0) chunk.not_found = notFound;
    if (typeof d.nonce === 'string') chunk.nonce = d.nonce;
    this.sendDispatch(session, 'GUILD_MEMBERS_CHUNK', chunk);
  }

  /** Sequences an event for a session; sent now if connected, replayed on RESUME otherwise. */
  private sendDispatch(session: GatewaySession, t: string, d: unknown): void {
    session.seq += 1;
    const frame = { op: 0 as const, t, s: session.seq, d };
    session.backlog.push(frame);
    if (session.backlog.length > GATEWAY_BACKLOG) session.backlog.shift();
    if (session.socket) this.sendFrame(session.socket, frame);
  }

  private dispatch(t: string, d: unknown, intent?: number): void {
    if (this.building) return;
    const record: DispatchRecord = { t, d, at: Date.now(), sessions: [] };
    this.events.push(record);
    for (const session of this.sessions.values()) {
      if (intent !== undefined && (session.intents & intent) === 0) continue;
      this.sendDispatch(session, t, d);
      record.sessions.push(session.id);
    }
  }

  /** MESSAGE_CREATE/UPDATE, with content blanked per session when Message Content is missing. */
  private dispatchMessage(t: 'MESSAGE_CREATE' | 'MESSAGE_UPDATE', message: EmulatedMessage): void {
    const intent = message.guild_id ? Intent.GuildMessages : Intent.DirectMessages;
    const wire = this.gatewayMessage(message);
    const record: DispatchRecord = { t, d: wire, at: Date.now(), sessions: [] };
    this.events.push(record);
    const channel = this.channels.get(message.channel_id);
    // The gateway sends messages only from channels the bot can view.
    if (message.guild_id && channel && !this.botCan(channel, Permission.ViewChannel)) return;
    for (const session of this.sessions.values()) {
      if ((session.intents & intent) === 0) continue;
      const sessionHasIntent = (session.intents & Intent.MessageContent) !== 0;
      this.sendDispatch(session, t, this.canSeeContent(message, sessionHasIntent) ? wire : blanked(wire));
      record.sessions.push(session.id);
    }
  }

  /** Discord's Message Content rule: own messages, DMs and messages mentioning the bot are exempt. */
  private canSeeContent(message: EmulatedMessage, requested: boolean): boolean {
    if (this.messageContentIntent && requested) return true;
    return (
      message.author.id === this.botUserId ||
      message.guild_id === undefined ||
      message.mentions.some((user) => user.id === this.botUserId)
    );
  }

  // ------------------------------------------------------------------------------------------
  // HTTP
  // ------------------------------------------------------------------------------------------

  private async handleHttp(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', this.baseUrl);
    const method = (request.method ?? 'GET').toUpperCase();
    const isApi = url.pathname.startsWith(`${API_PREFIX}/`);
    const record: RequestRecord = {
      method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      body: undefined,
      status: 0,
      at: Date.now(),
      arrivedAt: this.clock(),
    };
    this.requests.push(record);
    let result: RouteResult;
    try {
      const raw = await readBody(request);
      if (!isApi && method === 'GET' && url.pathname.startsWith('/attachments/')) {
        record.route = 'GET /attachments/:channel/:attachment/:filename';
        this.serveAttachment(url.pathname, record, response);
        return;
      }
      result = isApi
        ? await this.handleApi(method, record, request.headers, raw)
        : errorResult(new ApiError(404, 0, '404: Not Found'));
    } catch (error) {
      result = errorResult(error);
      if (!(error instanceof ApiError) && !(error instanceof RateLimitedError)) {
        record.error = error instanceof Error ? (error.stack ?? error.message) : String(error);
      }
    }
    record.status = result.status;
    if (result.limited) {
      const entry: RateLimitRecord = {
        method,
        path: record.path,
        ...result.limited,
        at: record.arrivedAt,
      };
      if (record.route) entry.route = record.route;
      this.rateLimited.push(entry);
    }
    const headers: Record<string, string> = { ...result.headers };
    if (result.status === 204 || result.body === undefined) {
      response.writeHead(result.status, headers);
      response.end();
      return;
    }
    const text = JSON.stringify(result.body);
    response.writeHead(result.status, {
      ...headers,
      'Content-Type': 'application/json',
      'Content-Length': String(Buffer.byteLength(text)),
    });
    response.end(text);
  }

  private async handleApi(
    method: string,
    record: RequestRecord,
    headers: IncomingHttpHeaders,
    raw: Buffer,
  ): Promise<RouteResult> {
    const apiPath = record.path.slice(API_PREFIX.length);
    const match = this.matchRoute(method, apiPath);
    if (!match) throw new ApiError(404, 0, '404: Not Found');
    const { route, params } = match;
    record.route = `${route.method} ${route.template}`;
    const { body, files } = await parseBody(headers['content-type'] ?? '', raw);
    record.body = body;
    if (files.length > 0) {
      record.files = files.map((file) => ({
        field: file.field,
        filename: file.filename,
        size: file.data.length,
        contentType: file.contentType,
      }));
    }
    const withBotToken = headers.authorization === `Bot ${this.token}`;
    if (route.auth && !withBotToken) {
      throw new ApiError(401, 0, '401: Unauthorized');
    }
    // Discord counts the global limit per bot token; requests without one (webhook tokens) are
    // limited per IP address instead, which the emulator does not model.
    const isInteractionWebhook = params.webhook !== undefined && params.webhook === this.applicationId;
    if (withBotToken && !route.exemptFromGlobal && !isInteractionWebhook) {
      const limited = this.takeGlobal();
      if (limited) return limited;
    }
    const fault = this.takeFault(method, record.path, apiPath);
    if (fault) return fault;
    const context: RouteContext = {
      method,
      path: apiPath,
      query: record.query,
      body,
      files,
      param: (name) => {
        const value = params[name];
        if (value === undefined) throw new Error(`route ${route.template} has no :${name}`);
        return value;
      },
    };
    const bucket = route.bucket?.(context);
    let rateHeaders: Record<string, string> = {};
    if (bucket) {
      const taken = this.takeBucket(bucket.key, bucket.hash, bucket.kind);
      if ('limited' in taken) return taken.limited;
      rateHeaders = taken.headers;
    }
    try {
      const result = await route.handler(context);
      return { ...result, headers: { ...rateHeaders, ...result.headers } };
    } catch (error) {
      if (!(error instanceof ApiError) && !(error instanceof RateLimitedError)) throw error;
      const result = errorResult(error);
      // A shared-resource 429 still carries the route bucket's headers, as Discord's does.
      return { ...result, headers: { ...rateHeaders, ...result.headers } };
    }
  }

  private matchRoute(
    method: string,
    path: string,
  ): { route: Route; params: Record<string, string> } | undefined {
    let segments: string[];
    try {
      segments = path.split('/').filter(Boolean).map(decodeURIComponent);
    } catch {
      return undefined;
    }
    for (const route of this.routes) {
      if (route.method !== method || route.segments.length !== segments.length) continue;
      const params: Record<string, string> = {};
      const matches = route.segments.every((expected, index) => {
        const actual = segments[index] ?? '';
        if (expected.startsWith(':')) {
          params[expected.slice(1)] = actual;
          return true;
        }
        return expected === actual;
      });
      if (matches) return { route, params };
    }
    return undefined;
  }

  private takeFault(method: string, fullPath: string, apiPath: string): RouteResult | undefined {
    const index = this.faults.findIndex(
      (fault) =>
        (fault.method === undefined || fault.method.toUpperCase() === method) &&
        (fault.path.test(fullPath) || fault.path.test(apiPath)),
    );
    const fault = this.faults[index];
    if (!fault) return undefined;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.faults.splice(index, 1);
    if (fault.status === 429) {
      const retryAfter = fault.retryAfter ?? 1;
      const body: JsonObject = {
        message: fault.message ?? 'You are being rate limited.',
        retry_after: retryAfter,
        global: false,
      };
      if (fault.code !== undefined) body.code = fault.code;
      // Retry-After is sent as given (not rounded up) so tests can inject short waits.
      return {
        status: 429,
        body,
        headers: { 'Retry-After': String(retryAfter), 'X-RateLimit-Scope': 'user' },
        limited: { bucket: 'fault', scope: 'user', retryAfter },
      };
    }
    return {
      status: fault.status,
      body: {
        code: fault.code ?? 0,
        message: fault.message ?? `${fault.status}: ${STATUS_CODES[fault.status] ?? 'Error'}`,
      },
    };
  }

  /** Opens a fixed window for `key` if none is open; undefined when the limit is off. */
  private windowFor(key: string, kind: RateLimitKind): { bucket: BucketState; limit: RateLimit } | undefined {
    const limit = this.rateLimits[kind];
    if (limit === false) return undefined;
    const now = this.clock();
    let bucket = this.buckets.get(key);
    if (!bucket || now >= bucket.resetAt) {
      bucket = { count: 0, resetAt: now + limit.windowMs };
      this.buckets.set(key, bucket);
    }
    return { bucket, limit };
  }

  /**
   * A route bucket: a fixed window per key with headers that move like Discord's (Remaining counts
   * down, Reset-After is the time left in the window). discord.js waits pre-emptively when
   * Remaining reaches 0, so a client that follows the headers never gets this 429.
   */
  private takeBucket(
    key: string,
    hash: string,
    kind: RateLimitKind,
  ): { headers: Record<string, string> } | { limited: RouteResult } {
    const window = this.windowFor(key, kind);
    if (!window) return { headers: {} };
    const { bucket, limit } = window;
    const resetAfterMs = bucket.resetAt - this.clock();
    const headers: Record<string, string> = {
      'X-RateLimit-Limit': String(limit.limit),
      'X-RateLimit-Reset': ((Date.now() + resetAfterMs) / 1000).toFixed(3),
      'X-RateLimit-Reset-After': (resetAfterMs / 1000).toFixed(3),
      'X-RateLimit-Bucket': hash,
    };
    if (bucket.count >= limit.limit) {
      headers['X-RateLimit-Remaining'] = '0';
      const limited = rateLimitedResult('user', resetAfterMs, key);
      return { limited: { ...limited, headers: { ...headers, ...limited.headers } } };
    }
    bucket.count += 1;
    headers['X-RateLimit-Remaining'] = String(limit.limit - bucket.count);
    return { headers };
  }

  /** The bot token's global limit: a fixed window, like discord.js's own 50-per-second guard. */
  private takeGlobal(): RouteResult | undefined {
    const window = this.windowFor(BUCKET_PREFIX.global, 'global');
    if (!window) return undefined;
    const { bucket, limit } = window;
    if (bucket.count >= limit.limit) {
      return rateLimitedResult('global', bucket.resetAt - this.clock(), BUCKET_PREFIX.global);
    }
    bucket.count += 1;
    return undefined;
  }

  /**
   * Discord's undocumented limit on webhook messages per channel (about 30 a minute, shared by all
   * webhooks there; discord/discord-api-docs#367, #1454, #4043). A sliding window: at most `limit`
   * messages in any `windowMs`. It never shows in headers: a success carries only the webhook's
   * own bucket headers, and so does the 429, which adds `X-RateLimit-Scope: shared` and a
   * `Retry-After` that overrides them. Throws that 429 when the channel is full.
   *
   * Posts into a thread count toward its parent channel: whether Discord counts a thread apart is
   * not known, and counting them together is the conservative model (a bot that paces itself for
   * it is safe either way).
   */
  private checkChannelWebhookMessages(channelId: string): void {
    const limit = this.rateLimits.channelWebhookMessages;
    if (limit === false) return;
    const now = this.clock();
    const times = (this.channelWebhookMessageTimes.get(channelId) ?? []).filter(
      (time) => time > now - limit.windowMs,
    );
    this.channelWebhookMessageTimes.set(channelId, times);
    const oldest = times[0];
    if (times.length >= limit.limit && oldest !== undefined) {
      throw new RateLimitedError(
        rateLimitedResult(
          'shared',
          oldest + limit.windowMs - now,
          `${BUCKET_PREFIX.channelWebhookMessages}:${channelId}`,
        ),
      );
    }
  }

  private countChannelWebhookMessage(channelId: string): void {
    if (this.rateLimits.channelWebhookMessages === false) return;
    const times = this.channelWebhookMessageTimes.get(channelId) ?? [];
    times.push(this.clock());
    this.channelWebhookMessageTimes.set(channelId, times);
  }

  /** Serves an attachment download, misbehaving as its `AttachmentServing` says. */
  private serveAttachment(pathname: string, record: RequestRecord, response: ServerResponse): void {
    const id = pathname.split('/')[3] ?? '';
    const stored = this.attachmentData.get(id);
    if (!stored) {
      record.status = 404;
      response.writeHead(404, { 'Content-Type': 'text/plain', 'Content-Length': '9' });
      response.end('Not Found');
      return;
    }
    const { data, contentType, serving } = stored;
    record.bytesSent = 0;
    response.on('close', () => {
      record.closedEarly = !response.writableFinished;
    });
    const write = (chunk: Buffer): boolean => {
      record.bytesSent = (record.bytesSent ?? 0) + chunk.length;
      return response.write(chunk);
    };
    const start = (headers: Record<string, string>) => {
      record.status = 200;
      response.writeHead(200, { 'Content-Type': contentType, ...headers });
    };
    switch (serving.kind) {
      case 'normal':
        start({ 'Content-Length': String(data.length) });
        write(data);
        response.end();
        return;
      case 'hang-before-headers':
        return;
      case 'hang-after-headers':
        start({ 'Content-Length': String(data.length) });
        response.flushHeaders();
        if (serving.bytes) write(data.subarray(0, serving.bytes));
        return;
      case 'oversize': {
        start(serving.contentLength === 'actual' ? { 'Content-Length': String(serving.bytes) } : {});
        const block = Buffer.alloc(64 * 1024, 'x');
        let left = serving.bytes;
        const pump = () => {
          while (left > 0 && !response.destroyed) {
            const chunk = left >= block.length ? block : block.subarray(0, left);
            left -= chunk.length;
            if (!write(chunk)) {
              response.once('drain', pump);
              return;
            }
          }
          if (left === 0) response.end();
        };
        pump();
        return;
      }
      case 'trickle': {
        start({ 'Content-Length': String(data.length) });
        response.flushHeaders();
        let offset = 0;
        const timer = setInterval(() => {
          if (response.destroyed) {
            clearInterval(timer);
            return;
          }
          write(data.subarray(offset, offset + serving.chunkBytes));
          offset += serving.chunkBytes;
          if (offset >= data.length) {
            clearInterval(timer);
            response.end();
          }
        }, serving.intervalMs);
        response.on('close', () => clearInterval(timer));
        return;
      }
    }
  }

  // ------------------------------------------------------------------------------------------
  // Routes
  // ------------------------------------------------------------------------------------------

  private buildRoutes(): Route[] {
    const routes: Route[] = [];
    const add = (
      method: string,
      template: string,
      handler: Route['handler'],
      options: { auth?: boolean; bucket?: Route['bucket']; exemptFromGlobal?: boolean } = {},
    ) => {
      const route: Route = {
        method,
        template,
        segments: template.split('/').filter(Boolean),
        auth: options.auth ?? true,
        handler,
      };
      if (options.bucket) route.bucket = options.bucket;
      if (options.exemptFromGlobal) route.exemptFromGlobal = true;
      routes.push(route);
    };
    const webhookBucket: Route['bucket'] = (context) => {
      const id = context.param('webhook');
      if (id === this.applicationId) return undefined;
      return { key: `${BUCKET_PREFIX.webhook}:${id}`, hash: shortHash('webhook-token'), kind: 'webhook' };
    };

    // Gateway, users, application
    add('GET', '/gateway', () => ok({ url: this.gatewayUrl }), { auth: false });
    add('GET', '/gateway/bot', () =>
      ok({
        url: this.gatewayUrl,
        shards: 1,
        session_start_limit: { total: 1000, remaining: 1000, reset_after: 0, max_concurrency: 1 },
      }),
    );
    add('GET', '/users/@me', () => ok(this.requireUser(this.botUserId)));
    add('POST', '/users/@me/channels', (c) => this.openDm(c));
    add('GET', '/users/:user', (c) => {
      const user = this.users.get(c.param('user'));
      if (!user) throw new ApiError(404, 10013, 'Unknown User');
      return ok(user);
    });
    add('GET', '/applications/@me', () =>
      ok({
        id: this.applicationId,
        name: 'emulated-bot',
        description: '',
        icon: null,
        bot_public: true,
        bot_require_code_grant: false,
        flags: this.messageContentIntent ? 1 << 19 : 0,
        bot: this.requireUser(this.botUserId),
        owner: this.requireUser(this.ownerId),
      }),
    );

    // Guilds
    add('GET', '/guilds/:guild', (c) => {
      this.guildFor(c);
      return ok(this.guildPayload());
    });
    add('GET', '/guilds/:guild/channels', (c) => {
      this.guildFor(c);
      const channels = [...this.channels.values()].filter(
        (channel) => channel.type === ChannelType.GuildText,
      );
      return ok(channels.map((channel) => this.channelPayload(channel)));
    });
    add('GET', '/guilds/:guild/roles', (c) => {
      this.guildFor(c);
      return ok([...this.roles.values()].map((role) => this.rolePayload(role)));
    });
    add('GET', '/guilds/:guild/threads/active', (c) => {
      this.guildFor(c);
      const active = [...this.channels.values()].filter(
        (channel) =>
          channel.thread && !channel.thread.archived && this.botCan(channel, Permission.ViewChannel),
      );
      return ok({
        threads: active.map((channel) => this.channelPayload(channel)),
        members: this.botThreadMembers(active),
      });
    });
    add('GET', '/guilds/:guild/members/:user', (c) => {
      this.guildFor(c);
      const userId = c.param('user') === '@me' ? this.botUserId : c.param('user');
      if (!this.members.has(userId)) throw new ApiError(404, 10007, 'Unknown Member');
      return ok(this.memberPayload(userId));
    });
    add('GET', '/guilds/:guild/webhooks', (c) => {
      this.guildFor(c);
      if (!hasPermission(this.botPermissions, Permission.ManageWebhooks)) throw missingPermissions();
      return ok([...this.webhookStates.values()].map((webhook) => this.webhookPayload(webhook, true)));
    });

    // Channels and messages
    add('GET', '/channels/:channel', (c) => {
      const channel = this.channelFor(c);
      this.requireBotPermission(channel, Permission.ViewChannel);
      return ok(this.channelPayload(channel));
    });
    add('PATCH', '/channels/:channel', (c) => this.modifyChannel(c));
    add('PUT', '/channels/:channel/permissions/:overwrite', (c) => {
      const channel = this.overwritableFor(c);
      const body = isObject(c.body) ? c.body : {};
      const id = c.param('overwrite');
      const type = body.type === 1 ? 1 : body.type === 0 ? 0 : undefined;
      const errors = new FormErrors();
      if (type === undefined) errors.add(['type'], 'BASE_TYPE_CHOICES', 'Value must be one of {0, 1}.');
      else if (!(type === 1 ? this.members : this.roles).has(id)) {
        throw new ApiError(404, type === 1 ? 10007 : 10011, type === 1 ? 'Unknown Member' : 'Unknown Role');
      }
      errors.throwIfAny();
      const bits = (key: string) =>
        BigInt(/^\d+$/.test(String(body[key] ?? '0')) ? String(body[key] ?? '0') : '0');
      const overwrite: OverwriteState = { id, type: type ?? 0, allow: bits('allow'), deny: bits('deny') };
      channel.overwrites = [...channel.overwrites.filter((o) => o.id !== id), overwrite];
      this.dispatch('CHANNEL_UPDATE', this.channelPayload(channel), Intent.Guilds);
      return noContent();
    });
    add('DELETE', '/channels/:channel/permissions/:overwrite', (c) => {
      const channel = this.overwritableFor(c);
      channel.overwrites = channel.overwrites.filter((o) => o.id !== c.param('overwrite'));
      this.dispatch('CHANNEL_UPDATE', this.channelPayload(channel), Intent.Guilds);
      return noContent();
    });
    add('GET', '/channels/:channel/messages', (c) => this.listMessages(c));
    add('POST', '/channels/:channel/messages', (c) => this.createChannelMessage(c), {
      bucket: (c) => ({
        key: `${BUCKET_PREFIX.channelMessages}:${c.param('channel')}`,
        hash: shortHash('channel-messages'),
        kind: 'channelMessages',
      }),
    });
    add('GET', '/channels/:channel/messages/:message', (c) => {
      const channel = this.channelFor(c);
      this.requireBotPermission(channel, Permission.ReadMessageHistory);
      return ok(this.messageForRest(this.findChannelMessage(channel.id, c.param('message'))));
    });
    add('PATCH', '/channels/:channel/messages/:message', (c) => {
      const channel = this.channelFor(c);
      const message = this.findChannelMessage(channel.id, c.param('message'));
      if (message.author.id !== this.botUserId || message.webhook_id) {
        throw new ApiError(403, 50005, 'Cannot edit a message authored by another user');
      }
      return ok(this.restMessage(this.editMessage(message, c.body, c.files)));
    });
    add('DELETE', '/channels/:channel/messages/:message', (c) => {
      const channel = this.channelFor(c);
      const message = this.findChannelMessage(channel.id, c.param('message'));
      if (message.author.id !== this.botUserId) this.requireBotPermission(channel, Permission.ManageMessages);
      this.removeMessage(message);
      return noContent();
    });
    add('PUT', '/channels/:channel/messages/:message/reactions/:emoji/@me', (c) => {
      const channel = this.channelFor(c);
      this.requireBotPermission(channel, Permission.AddReactions);
      const message = this.findChannelMessage(channel.id, c.param('message'));
      const reactions = message.reactions ?? [];
      const existing = reactions.find((reaction) => reaction.emoji === c.param('emoji'));
      if (!existing) reactions.push({ emoji: c.param('emoji'), count: 1, me: true });
      else if (!existing.me) Object.assign(existing, { count: existing.count + 1, me: true });
      message.reactions = reactions;
      return noContent();
    });
    add('DELETE', '/channels/:channel/messages/:message/reactions/:emoji/@me', (c) => {
      const message = this.findChannelMessage(this.channelFor(c).id, c.param('message'));
      message.reactions = (message.reactions ?? []).filter((reaction) => reaction.emoji !== c.param('emoji'));
      return noContent();
    });
    add('POST', '/channels/:channel/typing', (c) => {
      const channel = this.channelFor(c);
      this.requireBotPermission(
        channel,
        channel.thread ? Permission.SendMessagesInThreads : Permission.SendMessages,
      );
      return noContent();
    });

    // Threads
    add('POST', '/channels/:channel/messages/:message/threads', (c) =>
      this.startThread(c, c.param('message')),
    );
    add('POST', '/channels/:channel/threads', (c) => this.startThread(c, undefined));
    for (const method of ['PUT', 'DELETE']) {
      add(method, '/channels/:channel/thread-members/@me', (c) => {
        const thread = this.threadFor(c);
        if (method === 'PUT') thread.members?.set(this.botUserId, nowIso());
        else thread.members?.delete(this.botUserId);
        return noContent();
      });
    }
    add('GET', '/channels/:channel/threads/archived/public', (c) =>
      this.listArchivedThreads(c, ChannelType.PublicThread),
    );
    add('GET', '/channels/:channel/threads/archived/private', (c) =>
      this.listArchivedThreads(c, ChannelType.PrivateThread),
    );

    // Webhooks
    add('GET', '/channels/:channel/webhooks', (c) => {
      const channel = this.channelFor(c);
      this.requireBotPermission(channel, Permission.ManageWebhooks);
      return ok(
        [...this.webhookStates.values()]
          .filter((webhook) => webhook.channelId === channel.id)
          .map((webhook) => this.webhookPayload(webhook, true)),
      );
    });
    add('POST', '/channels/:channel/webhooks', (c) => this.createWebhook(c));
    add('GET', '/webhooks/:webhook', (c) => ok(this.webhookPayload(this.webhookFor(c, undefined), true)));
    add('DELETE', '/webhooks/:webhook', (c) => {
      this.requireBotPermission(
        this.requireChannel(this.webhookFor(c, undefined).channelId),
        Permission.ManageWebhooks,
      );
      this.deleteWebhook(c.param('webhook'));
      return noContent();
    });
    add(
      'GET',
      '/webhooks/:webhook/:token',
      (c) => ok(this.webhookPayload(this.webhookFor(c, c.param('token')), false)),
      {
        auth: false,
      },
    );
    add('POST', '/webhooks/:webhook/:token', (c) => this.executeWebhook(c), {
      auth: false,
      bucket: webhookBucket,
    });
    add(
      'GET',
      '/webhooks/:webhook/:token/messages/:message',
      (c) => ok(this.restMessage(this.webhookMessage(c))),
      {
        auth: false,
      },
    );
    add('PATCH', '/webhooks/:webhook/:token/messages/:message', (c) => this.editWebhookMessage(c), {
      auth: false,
      bucket: webhookBucket,
    });
    add(
      'DELETE',
      '/webhooks/:webhook/:token/messages/:message',
      (c) => {
        this.removeMessage(this.webhookMessage(c));
        return noContent();
      },
      { auth: false, bucket: webhookBucket },
    );

    // Interactions
    add('POST', '/interactions/:interaction/:token/callback', (c) => this.interactionCallback(c), {
      auth: false,
      exemptFromGlobal: true,
    });

    // Application commands, global and per guild
    for (const prefix of ['/applications/:application', '/applications/:application/guilds/:guild']) {
      add('GET', `${prefix}/commands`, (c) =>
        ok(this.commandsFor(c).map((command) => this.commandPayload(command))),
      );
      add('PUT', `${prefix}/commands`, (c) => this.overwriteCommands(c));
      add('POST', `${prefix}/commands`, (c) => this.upsertCommand(c));
      add('GET', `${prefix}/commands/:command`, (c) => ok(this.commandPayload(this.commandFor(c))));
      add('PATCH', `${prefix}/commands/:command`, (c) => {
        const command = this.commandFor(c);
        if (!isObject(c.body)) throw invalidJson();
        const merged = { ...command.body, ...c.body };
        this.validateCommands([merged], false);
        command.body = merged;
        return ok(this.commandPayload(command));
      });
      add('DELETE', `${prefix}/commands/:command`, (c) => {
        const command = this.commandFor(c);
        this.commandStates.splice(this.commandStates.indexOf(command), 1);
        return noContent();
      });
    }
    return routes;
  }

  // ---- route helpers ----

  private guildFor(context: RouteContext): void {
    if (context.param('guild') !== this.guildId) throw unknownGuild();
  }

  private channelFor(context: RouteContext): ChannelState {
    const channel = this.channels.get(context.param('channel'));
    if (!channel) throw unknownChannel();
    return channel;
  }

  /** A guild text channel whose overwrites the bot may edit (Manage Roles there). */
  private overwritableFor(context: RouteContext): ChannelState {
    const channel = this.channelFor(context);
    if (channel.type !== ChannelType.GuildText) throw wrongChannelType();
    this.requireBotPermission(channel, Permission.ManageRoles);
    return channel;
  }

  private threadFor(context: RouteContext): ChannelState {
    const channel = this.channelFor(context);
    if (!channel.thread) throw wrongChannelType();
    return channel;
  }

  private openDm(context: RouteContext): RouteResult {
    const body = isObject(context.body) ? context.body : {};
    const recipient = typeof body.recipient_id === 'string' ? body.recipient_id : '';
    if (!this.users.has(recipient)) throw new ApiError(404, 10013, 'Unknown User');
    return ok(this.channelPayload(this.dmChannelFor(recipient)));
  }

  private messageForRest(message: EmulatedMessage): JsonObject {
    const wire = this.restMessage(message);
    return this.messageContentIntent || this.canSeeContent(message, false) ? wire : blanked(wire);
  }

  /**
   * `GET /channels/{id}/messages`: `limit` 1–100 (default 50) and one of `around`, `before`,
   * `after` (Discord documents them as mutually exclusive; here `around` wins, then `before`).
   * Always newest first: `after` gives the `limit` messages right after the id, `before` the
   * `limit` right before it, `around` about half on each side (the message itself included).
   */
  private listMessages(context: RouteContext): RouteResult {
    const channel = this.channelFor(context);
    this.requireBotPermission(channel, Permission.ViewChannel);
    const errors = new FormErrors();
    const limit = readLimitQuery(errors, context.query.limit, 1, 100, 50);
    const anchors: Partial<Record<'around' | 'before' | 'after', bigint>> = {};
    for (const key of ['around', 'before', 'after'] as const) {
      const value = context.query[key];
      if (value === undefined) continue;
      if (/^\d{1,20}$/.test(value)) anchors[key] = BigInt(value);
      else errors.add([key], 'NUMBER_TYPE_COERCE', `Value "${value}" is not snowflake.`);
    }
    errors.throwIfAny();
    if (!this.botCan(channel, Permission.ReadMessageHistory) && channel.type !== ChannelType.DM) {
      return ok([]);
    }
    const all = this.channelMessages.get(channel.id) ?? [];
    const { around, before, after } = anchors;
    let selected: EmulatedMessage[];
    if (around !== undefined) {
      let index = all.findIndex((m) => BigInt(m.id) >= around);
      if (index < 0) index = all.length;
      const start = Math.max(index - Math.floor(limit / 2), 0);
      selected = all.slice(start, start + limit);
    } else if (before !== undefined) {
      selected = all.filter((m) => BigInt(m.id) < before).slice(-limit);
    } else if (after !== undefined) {
      selected = all.filter((m) => BigInt(m.id) > after).slice(0, limit);
    } else selected = all.slice(-limit);
    return ok([...selected].reverse().map((message) => this.messageForRest(message)));
  }

  /**
   * `GET /channels/{id}/threads/archived/{public|private}`: archived threads of the channel, most
   * recently archived first, `before` an ISO8601 timestamp, `limit` at most 100 (default 50).
   */
  private listArchivedThreads(context: RouteContext, type: number): RouteResult {
    const parent = this.channelFor(context);
    if (parent.type !== ChannelType.GuildText) throw wrongChannelType();
    this.requireBotPermission(parent, Permission.ReadMessageHistory);
    if (type === ChannelType.PrivateThread) this.requireBotPermission(parent, Permission.ManageThreads);
    const errors = new FormErrors();
    const limit = readLimitQuery(errors, context.query.limit, 1, 100, 50);
    const before = context.query.before === undefined ? undefined : Date.parse(context.query.before);
    if (before !== undefined && Number.isNaN(before)) {
      errors.add(['before'], 'DATE_TIME_TYPE_PARSE', 'Could not parse the date time.');
    }
    errors.throwIfAny();
    const archived = [...this.channels.values()]
      .filter(
        (channel) =>
          channel.parentId === parent.id &&
          channel.type === type &&
          channel.thread?.archived === true &&
          (before === undefined || Date.parse(channel.thread.archiveTimestamp) < before),
      )
      .sort(
        (a, b) =>
          Date.parse(b.thread?.archiveTimestamp ?? '') - Date.parse(a.thread?.archiveTimestamp ?? '') ||
          Number(BigInt(b.id) - BigInt(a.id)),
      );
    const page = archived.slice(0, limit);
    return ok({
      threads: page.map((channel) => this.channelPayload(channel)),
      members: this.botThreadMembers(page),
      has_more: archived.length > page.length,
    });
  }

  /** Thread member objects for the bot in the threads it has joined. */
  private botThreadMembers(threads: ChannelState[]): JsonObject[] {
    return threads.flatMap((thread) => {
      const joined = thread.members?.get(this.botUserId);
      return joined ? [{ id: thread.id, user_id: this.botUserId, join_timestamp: joined, flags: 0 }] : [];
    });
  }

  private createChannelMessage(context: RouteContext): RouteResult {
    const channel = this.channelFor(context);
    this.requireBotPermission(
      channel,
      channel.thread ? Permission.SendMessagesInThreads : Permission.SendMessages,
    );
    if (context.files.length > 0) this.requireBotPermission(channel, Permission.AttachFiles);
    const outgoing = readOutgoing(context.body);
    delete outgoing.username;
    delete outgoing.avatar_url;
    validateOutgoing(outgoing, context.files, { isEdit: false });
    const message = this.postMessage({
      channel,
      author: this.requireUser(this.botUserId),
      outgoing,
      files: context.files,
      authorIsBot: true,
    });
    return ok(this.restMessage(message));
  }

  private modifyChannel(context: RouteContext): RouteResult {
    const channel = this.channelFor(context);
    if (!isObject(context.body)) throw invalidJson();
    const body = context.body;
    const errors = new FormErrors();
    if (body.name !== undefined) {
      if (typeof body.name === 'string') checkBetween(errors, ['name'], body.name, 1, 100);
      else errors.add(['name'], 'BASE_TYPE_STRING', 'Must be a string.');
    }
    if (
      body.auto_archive_duration !== undefined &&
      !AUTO_ARCHIVE_DURATIONS.has(Number(body.auto_archive_duration))
    ) {
      errors.add(
        ['auto_archive_duration'],
        'BASE_TYPE_CHOICES',
        'Value must be one of {60, 1440, 4320, 10080}.',
      );
    }
    errors.throwIfAny();
    if (channel.thread) {
      const ownsThread = channel.ownerId === this.botUserId;
      const canManage = hasPermission(this.botPermissions, Permission.ManageThreads);
      if ((!ownsThread && !canManage) || (body.locked !== undefined && !canManage))
        throw missingPermissions();
      if (typeof body.name === 'string') channel.name = body.name;
      if (typeof body.archived === 'boolean' && body.archived !== channel.thread.archived) {
        channel.thread.archived = body.archived;
        channel.thread.archiveTimestamp = nowIso();
      }
      if (typeof body.locked === 'boolean') channel.thread.locked = body.locked;
      if (body.auto_archive_duration !== undefined) {
        channel.thread.autoArchiveDuration = Number(body.auto_archive_duration);
      }
      this.dispatch('THREAD_UPDATE', this.channelPayload(channel), Intent.Guilds);
    } else {
      if (channel.type === ChannelType.DM) throw wrongChannelType();
      this.requireBotPermission(channel, Permission.ManageChannels);
      if (Array.isArray(body.permission_overwrites)) {
        this.requireBotPermission(channel, Permission.ManageRoles);
        const overwrites = body.permission_overwrites.filter(isObject);
        const errors = new FormErrors();
        overwrites.forEach((overwrite, index) => {
          const known = overwrite.type === 1 ? this.members : this.roles;
          if (!known.has(String(overwrite.id))) {
            errors.add(['permission_overwrites', index, 'id'], 'UNKNOWN_OVERWRITE', 'Unknown role or member');
          }
          for (const key of ['allow', 'deny']) {
            if (overwrite[key] !== undefined && !/^\d+$/.test(String(overwrite[key]))) {
              errors.add(['permission_overwrites', index, key], 'NUMBER_TYPE_COERCE', 'Not a bitfield');
            }
          }
        });
        errors.throwIfAny();
        channel.overwrites = overwrites.map((overwrite) =>
          this.overwriteState({
            id: String(overwrite.id),
            type: overwrite.type === 1 ? 1 : 0,
            allow: BigInt(String(overwrite.allow ?? '0')),
            deny: BigInt(String(overwrite.deny ?? '0')),
          }),
        );
      }
      if (typeof body.name === 'string') channel.name = body.name;
      this.dispatch('CHANNEL_UPDATE', this.channelPayload(channel), Intent.Guilds);
    }
    return ok(this.channelPayload(channel));
  }

  /** `POST /channels/{id}/messages/{id}/threads` (starter message) or `POST /channels/{id}/threads`. */
  private startThread(context: RouteContext, starterId: string | undefined): RouteResult {
    const parent = this.channelFor(context);
    if (parent.type !== ChannelType.GuildText) throw wrongChannelType();
    const body = isObject(context.body) ? context.body : {};
    const type = starterId ? ChannelType.PublicThread : Number(body.type ?? ChannelType.PrivateThread);
    this.requireBotPermission(
      parent,
      type === ChannelType.PrivateThread ? Permission.CreatePrivateThreads : Permission.CreatePublicThreads,
    );
    const errors = new FormErrors();
    const name = typeof body.name === 'string' ? body.name : '';
    checkBetween(errors, ['name'], name, 1, 100);
    const autoArchive = body.auto_archive_duration === undefined ? 1440 : Number(body.auto_archive_duration);
    if (!AUTO_ARCHIVE_DURATIONS.has(autoArchive)) {
      errors.add(
        ['auto_archive_duration'],
        'BASE_TYPE_CHOICES',
        'Value must be one of {60, 1440, 4320, 10080}.',
      );
    }
    if (type !== ChannelType.PublicThread && type !== ChannelType.PrivateThread) {
      errors.add(['type'], 'BASE_TYPE_CHOICES', 'Value must be one of {11, 12}.');
    }
    errors.throwIfAny();
    if (starterId) {
      this.findChannelMessage(parent.id, starterId);
      if (this.channels.has(starterId)) {
        throw new ApiError(400, 160004, 'A thread has already been created for this message');
      }
    }
    const now = nowIso();
    const thread: ChannelState = {
      // Discord's rule: a thread started from a message has the message's id.
      id: starterId ?? this.snowflake(),
      type,
      name,
      guildId: this.guildId,
      parentId: parent.id,
      ownerId: this.botUserId,
      position: 0,
      messageCount: 0,
      totalMessageSent: 0,
      thread: {
        archived: false,
        locked: false,
        autoArchiveDuration: autoArchive,
        archiveTimestamp: now,
        createTimestamp: now,
      },
      overwrites: [],
      members: new Map([[this.botUserId, now]]),
    };
    this.channels.set(thread.id, thread);
    this.channelMessages.set(thread.id, []);
    const payload = this.channelPayload(thread);
    this.dispatch(
      'THREAD_CREATE',
      {
        ...payload,
        newly_created: true,
        member: { id: thread.id, user_id: this.botUserId, join_timestamp: now, flags: 0 },
      },
      Intent.Guilds,
    );
    if (!starterId) {
      // Discord announces threads without a starter message in the parent channel.
      this.postMessage({
        channel: parent,
        author: this.requireUser(this.botUserId),
        outgoing: { content: name, hasStickersOrPoll: false },
        files: [],
        authorIsBot: true,
        type: MessageType.ThreadCreated,
        systemReference: { type: 0, channel_id: thread.id, guild_id: this.guildId },
      });
    }
    return { status: 201, body: payload };
  }

  private createWebhook(context: RouteContext): RouteResult {
    const channel = this.channelFor(context);
    if (channel.type !== ChannelType.GuildText) throw wrongChannelType();
    this.requireBotPermission(channel, Permission.ManageWebhooks);
    const body = isObject(context.body) ? context.body : {};
    const errors = new FormErrors();
    const name = typeof body.name === 'string' ? body.name : '';
    validateWebhookName(errors, ['name'], name);
    errors.throwIfAny();
    const inChannel = [...this.webhookStates.values()].filter((webhook) => webhook.channelId === channel.id);
    if (inChannel.length >= MAX_WEBHOOKS_PER_CHANNEL) {
      throw new ApiError(400, 30007, 'Maximum number of webhooks reached (15)');
    }
    const webhook: WebhookState = {
      id: this.snowflake(),
      token: randomToken(51),
      channelId: channel.id,
      name,
      avatar: typeof body.avatar === 'string' ? shortHash(body.avatar) : null,
      applicationId: this.applicationId,
      creatorId: this.botUserId,
    };
    this.webhookStates.set(webhook.id, webhook);
    this.dispatch(
      'WEBHOOKS_UPDATE',
      { guild_id: this.guildId, channel_id: channel.id },
      Intent.GuildWebhooks,
    );
    return ok(this.webhookPayload(webhook, true));
  }

  /** A webhook by id; with a token, the token must match (401 50027 otherwise). */
  private webhookFor(context: RouteContext, token: string | undefined): WebhookState {
    const webhook = this.webhookStates.get(context.param('webhook'));
    if (!webhook) throw unknownWebhook();
    if (token !== undefined && webhook.token !== token) throw invalidWebhookToken();
    return webhook;
  }

  private executeWebhook(context: RouteContext): RouteResult {
    if (context.param('webhook') === this.applicationId) return this.interactionFollowup(context);
    const webhook = this.webhookFor(context, context.param('token'));
    const channel = this.webhookChannel(webhook, context);
    const outgoing = readOutgoing(context.body);
    validateOutgoing(outgoing, context.files, { isEdit: false });
    this.checkChannelWebhookMessages(webhook.channelId);
    const author: EmulatedUser = {
      id: webhook.id,
      username: outgoing.username ?? webhook.name,
      discriminator: '0000',
      avatar: outgoing.avatar_url ? shortHash(outgoing.avatar_url) : webhook.avatar,
      bot: true,
    };
    const message = this.postMessage({
      channel,
      author,
      outgoing,
      files: context.files,
      authorIsBot: true,
      webhookId: webhook.id,
    });
    this.countChannelWebhookMessage(webhook.channelId);
    return context.query.wait === 'true' ? ok(this.restMessage(message)) : noContent();
  }

  /** Where a webhook route acts: the thread `thread_id` names (a child of the webhook's channel), else the webhook's channel. */
  private webhookChannel(webhook: WebhookState, context: RouteContext): ChannelState {
    const threadId = context.query.thread_id;
    if (threadId === undefined) return this.requireChannel(webhook.channelId);
    const thread = this.channels.get(threadId);
    if (!thread?.thread || thread.parentId !== webhook.channelId) throw unknownChannel();
    return thread;
  }

  /**
   * The message a webhook-token route names: an interaction's, or a regular webhook's own message
   * in the channel searched (the `thread_id` thread, else the webhook's channel), 10008 otherwise.
   */
  private webhookMessage(context: RouteContext): EmulatedMessage {
    const messageId = context.param('message');
    if (context.param('webhook') === this.applicationId) {
      const state = this.interactionByToken(context.param('token'));
      const id = messageId === '@original' ? state.originalMessageId : messageId;
      if (!id || !state.messageIds.has(id)) throw unknownMessage();
      const message = this.findMessage(id);
      if (!message) throw unknownMessage();
      return message;
    }
    const webhook = this.webhookFor(context, context.param('token'));
    const channel = this.webhookChannel(webhook, context);
    const message = this.channelMessages.get(channel.id)?.find((candidate) => candidate.id === messageId);
    if (!message || message.webhook_id !== webhook.id) throw unknownMessage();
    return message;
  }

  private editWebhookMessage(context: RouteContext): RouteResult {
    const message = this.webhookMessage(context);
    if (context.param('webhook') === this.applicationId) {
      const state = this.interactionByToken(context.param('token'));
      state.record.edits.push(payloadRecord(context.body));
      if (message.id === state.originalMessageId) state.loading = false;
    }
    return ok(this.restMessage(this.editMessage(message, context.body, context.files)));
  }

  private interactionByToken(token: string): InteractionState {
    const state = [...this.interactionStates.values()].find((candidate) => candidate.record.token === token);
    if (!state) throw unknownWebhook();
    if (Date.now() - state.createdAt > this.interactionTokenLifetimeMs) throw invalidWebhookToken();
    return state;
  }

  private interactionCallback(context: RouteContext): RouteResult {
    const state = this.interactionStates.get(context.param('interaction'));
    if (!state || state.record.token !== context.param('token')) throw unknownInteraction();
    if (state.acknowledged) throw new ApiError(400, 40060, 'Interaction has already been acknowledged.');
    // Discord forgets interactions that were not answered within 3 seconds.
    if (Date.now() - state.createdAt > this.interactionAckTimeoutMs) throw unknownInteraction();
    if (!isObject(context.body)) throw invalidJson();
    const type = Number(context.body.type);
    const data = isObject(context.body.data) ? context.body.data : undefined;
    const channel = this.requireChannel(state.record.channelId);
    const isComponent = state.record.type === InteractionType.MessageComponent;
    let message: EmulatedMessage | undefined;
    switch (type) {
      case CallbackType.ChannelMessage:
      case CallbackType.DeferredChannelMessage: {
        const outgoing = readOutgoing(data);
        const deferred = type === CallbackType.DeferredChannelMessage;
        if (!deferred) validateOutgoing(outgoing, context.files, { isEdit: false });
        const ephemeral = ((outgoing.flags ?? 0) & MessageFlag.Ephemeral) !== 0;
        message = this.postMessage({
          channel,
          author: this.requireUser(this.botUserId),
          outgoing: deferred ? { flags: outgoing.flags ?? 0, hasStickersOrPoll: false } : outgoing,
          files: deferred ? [] : context.files,
          authorIsBot: true,
          webhookId: this.applicationId,
          type: isComponent ? MessageType.Default : MessageType.ChatInputCommand,
          interactionMetadata: this.interactionMetadata(state),
          ephemeral,
          extraFlags: deferred ? MessageFlag.Loading : 0,
        });
        state.loading = deferred;
        state.originalMessageId = message.id;
        state.messageIds.add(message.id);
        break;
      }
      case CallbackType.DeferredUpdateMessage:
      case CallbackType.UpdateMessage: {
        if (!isComponent || !state.componentMessageId) {
          const errors = new FormErrors();
          errors.add(['type'], 'INTERACTION_RESPONSE_TYPE_INVALID', 'Invalid interaction response type');
          errors.throwIfAny();
        }
        const target = this.findMessage(state.componentMessageId ?? '');
        if (!target) throw unknownMessage();
        if (type === CallbackType.UpdateMessage) this.editMessage(target, data, context.files);
        state.originalMessageId = target.id;
        state.messageIds.add(target.id);
        message = target;
        break;
      }
      case CallbackType.AutocompleteResult: {
        const choices = data?.choices;
        const errors = new FormErrors();
        if (state.record.type !== InteractionType.Autocomplete)
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
    state.acknowledged = true;
    state.record.responses.push(data === undefined ? { type } : { type, data: payloadRecord(data) });
    if (context.query.with_response !== 'true') return noContent();
    const interaction: JsonObject = { id: state.record.id, type: state.record.type };
    const resource: JsonObject = { type };
    if (message) {
      interaction.response_message_id = message.id;
      interaction.response_message_loading = state.loading;
      interaction.response_message_ephemeral = (message.flags & MessageFlag.Ephemeral) !== 0;
      resource.message = this.restMessage(message);
    }
    return ok({ interaction, resource });
  }

  /** `interaction_metadata` of messages created by an interaction's responses. */
  private interactionMetadata(state: InteractionState): JsonObject {
    const metadata: JsonObject = {
      id: state.record.id,
      type: state.record.type,
      user: this.requireUser(state.record.userId),
      authorizing_integration_owners: { '0': state.guildId ?? this.guildId },
    };
    if (state.originalMessageId) metadata.original_response_message_id = state.originalMessageId;
    if (state.componentMessageId) metadata.interacted_message_id = state.componentMessageId;
    return metadata;
  }

  private interactionFollowup(context: RouteContext): RouteResult {
    const state = this.interactionByToken(context.param('token'));
    if (!state.acknowledged) throw unknownWebhook();
    const outgoing = readOutgoing(context.body);
    validateOutgoing(outgoing, context.files, { isEdit: false });
    state.record.followups.push(payloadRecord(context.body));
    const original = state.originalMessageId ? this.findMessage(state.originalMessageId) : undefined;
    if (state.loading && original) {
      // Discord: the first follow-up after a deferred reply fills in the "thinking" message.
      state.loading = false;
      return ok(this.restMessage(this.editMessage(original, context.body, context.files)));
    }
    const message = this.postMessage({
      channel: this.requireChannel(state.record.channelId),
      author: this.requireUser(this.botUserId),
      outgoing,
      files: context.files,
      authorIsBot: true,
      webhookId: this.applicationId,
      interactionMetadata: this.interactionMetadata(state),
      ephemeral: ((outgoing.flags ?? 0) & MessageFlag.Ephemeral) !== 0,
    });
    state.messageIds.add(message.id);
    return ok(this.restMessage(message));
  }

  // ---- application commands ----

  private commandScope(context: RouteContext): string | undefined {
    if (context.param('application') !== this.applicationId) {
      throw new ApiError(403, 20012, 'You are not authorized to perform this action on this application');
    }
    if (!context.path.includes('/guilds/')) return undefined;
    this.guildFor(context);
    return context.param('guild');
  }

  private commandsFor(context: RouteContext): CommandState[] {
    const guildId = this.commandScope(context);
    return this.commandStates.filter((command) => command.guildId === guildId);
  }

  private commandFor(context: RouteContext): CommandState {
    const command = this.commandsFor(context).find((candidate) => candidate.id === context.param('command'));
    if (!command) throw new ApiError(404, 10063, 'Unknown application command');
    return command;
  }

  /** Bulk overwrites key errors by index, single creates and edits by field. */
  private validateCommands(bodies: JsonObject[], bulk: boolean): void {
    const errors = new FormErrors();
    const names = new Set<string>();
    bodies.forEach((body, index) => {
      const type = typeof body.type === 'number' ? body.type : 1;
      const name = typeof body.name === 'string' ? body.name : '';
      const prefix = bulk ? [index] : [];
      if (type === 1 && !/^[-_'\p{L}\p{N}]{1,32}$/u.test(name)) {
        errors.add([...prefix, 'name'], 'APPLICATION_COMMAND_INVALID_NAME', 'Command name is invalid');
      } else if (type === 1 && name !== name.toLowerCase()) {
        errors.add(
          [...prefix, 'name'],
          'APPLICATION_COMMAND_INVALID_NAME',
          'Command name must be lower case',
        );
      }
      if (type === 1) {
        checkBetween(
          errors,
          [...prefix, 'description'],
          typeof body.description === 'string' ? body.description : '',
          1,
          100,
        );
      }
      if (Array.isArray(body.options) && body.options.length > 25) {
        errors.add([...prefix, 'options'], 'BASE_TYPE_MAX_LENGTH', 'Must be 25 or fewer in length.');
      }
      const key = `${type}:${name}`;
      if (names.has(key)) {
        errors.add(
          [...prefix, 'name'],
          'APPLICATION_COMMANDS_DUPLICATE_NAME',
          `Application command names must be unique`,
        );
      }
      names.add(key);
    });
    errors.throwIfAny();
  }

  private overwriteCommands(context: RouteContext): RouteResult {
    const guildId = this.commandScope(context);
    if (!Array.isArray(context.body)) throw invalidJson();
    const bodies = context.body.filter(isObject);
    this.validateCommands(bodies, true);
    const previous = this.commandStates.filter((command) => command.guildId === guildId);
    const next = bodies.map((body) => {
      // Discord keeps the id of a command that is overwritten under the same name and type.
      const kept = previous.find(
        (command) => command.body.name === body.name && (command.body.type ?? 1) === (body.type ?? 1),
      );
      const command: CommandState = { id: kept?.id ?? this.snowflake(), body: { ...body } };
      if (guildId) command.guildId = guildId;
      return command;
    });
    for (const command of previous) this.commandStates.splice(this.commandStates.indexOf(command), 1);
    this.commandStates.push(...next);
    return ok(next.map((command) => this.commandPayload(command)));
  }

  private upsertCommand(context: RouteContext): RouteResult {
    const guildId = this.commandScope(context);
    if (!isObject(context.body)) throw invalidJson();
    const body = context.body;
    this.validateCommands([body], false);
    const existing = this.commandStates.find(
      (command) =>
        command.guildId === guildId &&
        command.body.name === body.name &&
        (command.body.type ?? 1) === (body.type ?? 1),
    );
    if (existing) {
      existing.body = { ...body };
      return ok(this.commandPayload(existing));
    }
    const command: CommandState = { id: this.snowflake(), body: { ...body } };
    if (guildId) command.guildId = guildId;
    this.commandStates.push(command);
    return { status: 201, body: this.commandPayload(command) };
  }
}

// ---------------------------------------------------------------------------------------------
// Module helpers
// ---------------------------------------------------------------------------------------------

function nowIso(): string {
  return new Date().toISOString();
}

/** What a client without the Message Content intent sees of someone else's message. */
function blanked(wire: JsonObject): JsonObject {
  return { ...wire, content: '', embeds: [], attachments: [], components: [] };
}

function payloadRecord(body: unknown): MessagePayloadRecord {
  return isObject(body) ? structuredClone(body) : {};
}

function errorResult(error: unknown): RouteResult {
  if (error instanceof RateLimitedError) return error.result;
  if (error instanceof ApiError) {
    const body: JsonObject = { message: error.message, code: error.code };
    if (error.errors) body.errors = error.errors;
    return { status: error.status, body };
  }
  return { status: 500, body: { message: '500: Internal Server Error', code: 0 } };
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** JSON, or multipart with `payload_json` and `files[n]` (Node's fetch `Request` parses it). */
async function parseBody(
  contentType: string,
  raw: Buffer,
): Promise<{ body: unknown; files: UploadedFile[] }> {
  if (raw.length === 0) return { body: undefined, files: [] };
  if (contentType.startsWith('multipart/form-data')) {
    const form = await new Request('http://emulator.invalid/', {
      method: 'POST',
      headers: { 'content-type': contentType },
      body: raw,
    }).formData();
    const fields: JsonObject = {};
    let body: unknown;
    const files: UploadedFile[] = [];
    for (const [field, value] of form.entries()) {
      if (typeof value !== 'string') {
        files.push({
          field,
          filename: value.name,
          contentType: value.type,
          data: Buffer.from(await value.arrayBuffer()),
        });
      } else if (field === 'payload_json') {
        body = parseJson(value);
      } else {
        fields[field] = value;
      }
    }
    return { body: body ?? fields, files };
  }
  return { body: parseJson(raw.toString('utf8')), files: [] };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw invalidJson();
  }
}
