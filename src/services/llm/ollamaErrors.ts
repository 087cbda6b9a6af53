import { AppError } from '../errors.ts';

export interface OllamaErrorContext {
  host: string;
  model: string;
  timeoutMs: number;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ECONNRESET',
  'EAI_AGAIN',
  'ETIMEDOUT',
]);

function networkCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; current && depth < 6; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return code;
    const errors = (current as { errors?: unknown }).errors;
    if (Array.isArray(errors)) {
      const inner = errors.map(networkCode).find(Boolean);
      if (inner) return inner;
    }
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** What a public reply says when Ollama does not answer: where the bot looked is the log's. */
export const UNREACHABLE_IN_PUBLIC =
  "cannot reach Ollama: start it with `ollama serve` (or set OLLAMA_HOST); the address tried is in the bot's log";

export function unreachableError(host: string, cause?: unknown): AppError {
  return new AppError(
    'OLLAMA_UNREACHABLE',
    'operational',
    `cannot reach Ollama at ${host}: start it with \`ollama serve\` (or set OLLAMA_HOST)`,
    { cause, retryable: true, publicMessage: UNREACHABLE_IN_PUBLIC },
  );
}

export function modelMissingError(model: string, cause?: unknown): AppError {
  return new AppError(
    'OLLAMA_MODEL_MISSING',
    'user',
    `model ${model} is not pulled: \`ollama pull ${model}\``,
    {
      cause,
    },
  );
}

/**
 * Turns whatever the Ollama client threw into an {@link AppError} that says what to do.
 * A cancellation by the caller is returned unchanged.
 */
export function toOllamaError(error: unknown, context: OllamaErrorContext): unknown {
  if (error instanceof AppError) return error;
  const name = (error as { name?: unknown })?.name;
  const message = error instanceof Error ? error.message : String(error);
  if (name === 'TimeoutError') {
    return new AppError(
      'OLLAMA_TIMEOUT',
      'operational',
      `model ${context.model} did not answer within ${Math.round(context.timeoutMs / 1000)} s (raise OLLAMA_TIMEOUT_MS if it is just slow)`,
      { cause: error },
    );
  }
  if (name === 'AbortError') return error;
  if (networkCode(error) || /fetch failed|ECONNREFUSED|socket hang up/i.test(message)) {
    return unreachableError(context.host, error);
  }
  const status = (error as { status_code?: unknown }).status_code;
  if (status === 404 || /not found, try pulling it first/i.test(message))
    return modelMissingError(context.model, error);
  if (status === 503) {
    return new AppError(
      'OLLAMA_BUSY',
      'operational',
      `Ollama is busy (its queue is full): try again shortly`,
      { cause: error, retryable: true },
    );
  }
  // A server fault (5xx) or a stream cut short may pass on a second try; a refused request will not.
  const retryable = typeof status === 'number' ? status >= 500 : true;
  return new AppError('OLLAMA_ERROR', 'operational', `Ollama failed on model ${context.model}: ${message}`, {
    cause: error,
    retryable,
  });
}
