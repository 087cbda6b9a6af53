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
  | 'OLLAMA_UNREACHABLE'
  | 'OLLAMA_MODEL_MISSING'
  | 'OLLAMA_TIMEOUT'
  | 'OLLAMA_BUSY'
  | 'OLLAMA_ERROR'
  | 'CONVERSATION_NOT_FOUND'
  | 'MEMORY_INDEX_MISMATCH'
  | 'INTERNAL';

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly kind: ErrorKind;

  constructor(code: ErrorCode, kind: ErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AppError';
    this.code = code;
    this.kind = kind;
  }
}

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError;
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
