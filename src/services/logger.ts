import { createRequire } from 'node:module';
import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

/** How log records are written: one JSON object a line, or pino-pretty's lines for people. */
export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

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
  /** `json` or `pretty` (LOG_FORMAT); unset, {@link pickLogFormat} chooses by where records go. */
  format?: LogFormat | undefined;
  /** Where records go; stdout when absent. */
  destination?: DestinationStream;
}

/**
 * The format a log is written in: the one LOG_FORMAT forces, else lines for people when they go
 * to a terminal and JSON (one record a line, for collectors) when they go anywhere else.
 */
export function pickLogFormat(forced: LogFormat | undefined, toTerminal: boolean): LogFormat {
  return forced ?? (toTerminal ? 'pretty' : 'json');
}

/**
 * pino's own pretty printer as the destination. It is loaded here, only when a log is pretty: a
 * bot writing JSON (a container, a service) never pays for it at start.
 */
function prettyDestination(destination: DestinationStream | undefined, colorize: boolean): DestinationStream {
  const pretty = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');
  return pretty.build({
    destination: destination ?? 1,
    colorize,
    // Written as they come, so that a line is out before the process exits or prints its own.
    sync: true,
    translateTime: 'SYS:HH:MM:ss.l',
    // A sharded bot's processes write to one terminal: each line says its shard first.
    messageFormat: '{if shard}[shard {shard}] {end}{if module}{module}: {end}{msg}',
    ignore: 'pid,hostname,app,module,shard',
  });
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
  const toTerminal = !options.destination && process.stdout.isTTY === true;
  const destination =
    pickLogFormat(options.format, toTerminal) === 'pretty'
      ? prettyDestination(options.destination, toTerminal)
      : options.destination;
  return pino(
    {
      level: options.level,
      base: { app: 'bat-os' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      serializers: { err: serializeError },
    },
    destination,
  );
}

/** A logger that drops everything (tests, library use). */
export function createSilentLogger(): Logger {
  return pino({ level: 'silent' });
}
