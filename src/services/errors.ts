import { withoutHostDetails } from '../shared/hostDetails.ts';

/**
 * Errors that cross a layer carry a stable `code` and a `kind`, so the edges (terminal chat,
 * dialogue runner, interaction router) can decide what to show without parsing messages.
 *
 * - `user`: the person can fix it (bad input, bad configuration); shown as is.
 * - `operational`: something outside us is down or slow (Ollama, Discord); shown as a short
 *   notice, may be retried.
 * - `bug`: anything else; logged with details, a generic line shown.
 */
export type ErrorKind = 'user' | 'operational' | 'bug';

export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'CODEX_NOT_FOUND'
  | 'CODEX_INVALID'
  /** The codex file is over 1 MiB: refused unread. */
  | 'CODEX_TOO_LARGE'
  | 'OLLAMA_UNREACHABLE'
  | 'OLLAMA_MODEL_MISSING'
  | 'OLLAMA_TIMEOUT'
  | 'OLLAMA_BUSY'
  | 'OLLAMA_ERROR'
  | 'OLLAMA_PULL_FAILED'
  /** The same, from an OpenAI-compatible server (`LLM_PROVIDER=openai`). */
  | 'LLM_UNREACHABLE'
  | 'LLM_MODEL_MISSING'
  | 'LLM_TIMEOUT'
  | 'LLM_BUSY'
  | 'LLM_AUTH'
  | 'LLM_ERROR'
  /** A persona is served by an OpenAI-compatible server and OPENAI_BASE_URL is not set. */
  | 'LLM_NOT_CONFIGURED'
  /** Something only Ollama can do (fine-tuning's model registration, `keep_alive`). */
  | 'NOT_OLLAMA'
  /** Model calls are held (the GPU lent to a fine-tune) and this one was made not to wait. */
  | 'MODEL_QUEUE_HELD'
  | 'CONVERSATION_NOT_FOUND'
  | 'MEMORY_INDEX_MISMATCH'
  /** A channel named by a setting does not exist, or the bot cannot post there. */
  | 'CHANNEL_UNUSABLE'
  /** `DATABASE_URL`'s server does not answer or refuses the login. */
  | 'DATABASE_UNREACHABLE'
  /** A store was written by a newer BAT OS (its schema version is one this one does not know). */
  | 'STORE_TOO_NEW'
  | 'INTERNAL';

/**
 * An expected "no" (a permission check, a proposal already decided): returned as a result, not
 * thrown. `code` is stable, for tests and for the bot to pick its words; `reason` is plain text
 * with no Discord markup (the bot renders mentions and times itself).
 */
export interface Refusal<Code extends string = string> {
  ok: false;
  code: Code;
  reason: string;
}

/**
 * `message` is the operator's: the log, the terminal and an architect read it whole, server
 * address and paths included. `publicMessage` is what anyone reading a Discord reply is told:
 * given where the message names the host (an address, a path, a command line), else the message
 * with those taken out (`withoutHostDetails`, a safety net).
 */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly kind: ErrorKind;
  /** An operational failure that may pass if tried again shortly (a busy or restarting server). */
  readonly retryable: boolean;
  /** The words for a public reply: what went wrong, without where the host keeps things. */
  readonly publicMessage: string;

  constructor(
    code: ErrorCode,
    kind: ErrorKind,
    message: string,
    options?: { cause?: unknown; retryable?: boolean; publicMessage?: string },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.kind = kind;
    this.retryable = options?.retryable ?? false;
    this.publicMessage = options?.publicMessage ?? withoutHostDetails(message);
  }
}

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError;
}

/** A configuration mistake found at run time (a channel id that leads nowhere): the operator fixes it. */
export function channelUnusable(setting: string, channelId: string, why: string): AppError {
  return new AppError(
    'CHANNEL_UNUSABLE',
    'user',
    `${setting} is ${channelId}, but ${why}: check the id (Developer Mode → right-click the channel → Copy ID) and the bot's permissions there.`,
  );
}

/** Finds an AppError anywhere in a chain of `cause`s (LangGraph wraps node errors). */
export function findAppError(error: unknown): AppError | undefined {
  let current: unknown = error;
  for (let depth = 0; current && depth < 8; depth++) {
    if (current instanceof AppError) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
