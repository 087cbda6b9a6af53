import { loadConfig, loadDotEnv } from '../services/config.ts';
import { findAppError } from '../services/errors.ts';
import { createLogger } from '../services/logger.ts';
import { type App, composeApp } from './compose.ts';
import { MISSING_TOKEN } from './messages.ts';

/** `npm start`: the Discord bot. */
async function main(): Promise<number> {
  loadDotEnv();
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return 2;
  }
  if (!config.discordToken) {
    process.stderr.write(`${MISSING_TOKEN}\n`);
    return 2;
  }
  const logger = createLogger({ level: config.logLevel, format: config.logFormat });
  let app: App;
  try {
    app = await composeApp(config, logger);
  } catch (error) {
    process.stderr.write(`${findAppError(error)?.message ?? String(error)}\n`);
    return 2;
  }

  let stopping: Promise<void> | undefined;
  const stop = (signal: string) => {
    stopping ??= (async () => {
      logger.info({ signal }, 'shutting down');
      await app.close();
      logger.info('stopped cleanly');
    })();
    return stopping;
  };
  const finished = new Promise<number>((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        stop(signal).then(
          () => resolve(0),
          (error: unknown) => {
            logger.error({ err: error }, 'unclean shutdown');
            resolve(1);
          },
        );
      });
    }
  });

  try {
    await app.bot.start(config.discordToken);
  } catch (error) {
    const failure = describeLoginFailure(error, config.discordApiUrl);
    process.stderr.write(`${failure.message}\n`);
    await stop('login failed');
    return failure.exitCode;
  }
  return finished;
}

/**
 * Why the login failed, in words, and the exit code: 2 for what only a change of configuration
 * fixes (as a missing setting), so that a container is not restarted in a loop for it; 1 for a
 * connection that may work on the next try.
 */
function describeLoginFailure(error: unknown, apiUrl: string): { message: string; exitCode: number } {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === 'TokenInvalid' || /401|invalid token/i.test(message)) {
    return {
      message:
        'Discord refused DISCORD_TOKEN: reset the token in the developer portal (Bot → Reset Token) and update .env.',
      exitCode: 2,
    };
  }
  if (/4014|disallowed intent/i.test(message)) {
    return {
      message:
        'Discord refused the Message Content intent: enable "Message Content Intent" under Bot → Privileged Gateway Intents in the developer portal.',
      exitCode: 2,
    };
  }
  return { message: `Could not connect to Discord at ${apiUrl}: ${message}`, exitCode: 1 };
}

process.exit(await main());
