import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

/** Keys that may hold secrets, wherever they appear in a log record (two levels deep). */
const SECRET_KEYS = ['token', 'discordToken', 'authorization', 'password', 'apiKey', 'secret'];
const REDACT_PATHS = SECRET_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`]);

export interface LoggerOptions {
  level: string;
  /** Where records go; stdout when absent. */
  destination?: DestinationStream;
}

/** The root logger; modules take `logger.child({ module })` from it. */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      base: { app: 'bat-os' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    options.destination,
  );
}

/** A logger that drops everything (tests, library use). */
export function createSilentLogger(): Logger {
  return pino({ level: 'silent' });
}
