import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

/** Keys that may hold secrets, wherever they appear in a log record (two levels deep). */
const SECRET_KEYS = [
  'token',
  'discordToken',
  'authorization',
  'password',
  'apiKey',
  'openaiApiKey',
  'secret',
];
const REDACT_PATHS = SECRET_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`]);

export interface LoggerOptions {
  level: string;
  /** Where records go; stdout when absent. */
  destination?: DestinationStream;
}

/** Webhook and interaction URLs carry their token in the path. */
export function redactUrlTokens(text: string): string {
  return text.replace(/(\/(?:webhooks|interactions)\/\d+\/)[^/?\s]+/g, '$1[redacted]');
}

/** pino's error serializer, minus what may hold secrets or message text (request bodies, URL tokens). */
function serializeError(error: unknown) {
  const serialized = pino.stdSerializers.err(error as Error) as unknown as Record<string, unknown>;
  delete serialized.requestBody;
  for (const key of ['url', 'message', 'stack']) {
    if (typeof serialized[key] === 'string') serialized[key] = redactUrlTokens(serialized[key] as string);
  }
  return serialized;
}

/** The root logger; modules take `logger.child({ module })` from it. */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      base: { app: 'bat-os' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      serializers: { err: serializeError },
    },
    options.destination,
  );
}

/** A logger that drops everything (tests, library use). */
export function createSilentLogger(): Logger {
  return pino({ level: 'silent' });
}
