/** Discord's numbers as the emulator uses them: gateway intents, protocol limits, enum values. */

/** Gateway intents the emulator honours. */
export const Intent = {
  Guilds: 1 << 0,
  GuildMembers: 1 << 1,
  GuildWebhooks: 1 << 5,
  GuildMessages: 1 << 9,
  GuildMessageReactions: 1 << 10,
  DirectMessages: 1 << 12,
  DirectMessageReactions: 1 << 13,
  MessageContent: 1 << 15,
} as const;

export const DISCORD_EPOCH = 1420070400000n;
export const API_PREFIX = '/api/v10';
export const HEARTBEAT_INTERVAL_MS = 41_250;
export const MAX_CONTENT_LENGTH = 2000;
export const MAX_FILE_BYTES = 10 * 1024 * 1024;
export const MAX_FILES = 10;
export const MAX_WEBHOOKS_PER_CHANNEL = 15;
export const INTERACTION_TOKEN_LIFETIME_MS = 15 * 60_000;
export const GATEWAY_BACKLOG = 1000;
export const AUTO_ARCHIVE_DURATIONS = new Set([60, 1440, 4320, 10080]);

export const ChannelType = { GuildText: 0, DM: 1, PublicThread: 11, PrivateThread: 12 } as const;
export const MessageType = { Default: 0, ThreadCreated: 18, Reply: 19, ChatInputCommand: 20 } as const;
export const MessageFlag = {
  SuppressEmbeds: 4,
  Ephemeral: 64,
  Loading: 128,
  IsComponentsV2: 1 << 15,
} as const;
export const InteractionType = { ApplicationCommand: 2, MessageComponent: 3, Autocomplete: 4 } as const;
export const CallbackType = {
  ChannelMessage: 4,
  DeferredChannelMessage: 5,
  DeferredUpdateMessage: 6,
  UpdateMessage: 7,
  AutocompleteResult: 8,
  Modal: 9,
} as const;
