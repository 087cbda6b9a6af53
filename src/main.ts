import { join } from 'node:path';
import { loadCommands } from './bot/commandRegistry.ts';
import { createBot } from './bot/createBot.ts';
import { MISSING_TOKEN } from './bot/messages.ts';
import { createRuntime, type Runtime } from './runtime.ts';
import { openAppStore } from './services/appStore.ts';
import { loadConfig, loadDotEnv } from './services/config.ts';
import { findAppError } from './services/errors.ts';
import { checkOllama } from './services/llm/ollamaModels.ts';
import { createLogger } from './services/logger.ts';

const COMMANDS_DIR = join(import.meta.dirname, '..', 'commands');

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
  const logger = createLogger({ level: config.logLevel });
  let runtime: Runtime;
  try {
    runtime = await createRuntime(config, logger);
  } catch (error) {
    process.stderr.write(`${findAppError(error)?.message ?? String(error)}\n`);
    return 2;
  }
  try {
    await checkOllama(config.ollamaHost, runtime.requiredModels());
  } catch (error) {
    // The bot still starts: each dialogue says the same in its thread until Ollama is fixed.
    logger.warn(findAppError(error)?.message ?? String(error));
  }
  const store = openAppStore(config.dataDir, (error) => logger.error({ err: error }, 'state store error'));
  const bot = createBot({ runtime, store, commands: await loadCommands(COMMANDS_DIR) });

  let stopping: Promise<void> | undefined;
  const stop = (signal: string) => {
    stopping ??= (async () => {
      logger.info({ signal }, 'shutting down');
      await bot.stop();
      await store.close();
      await runtime.close();
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
    await bot.start(config.discordToken);
  } catch (error) {
    process.stderr.write(`${describeLoginFailure(error, config.discordApiUrl)}\n`);
    await stop('login failed');
    return 1;
  }
  return finished;
}

function describeLoginFailure(error: unknown, apiUrl: string): string {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === 'TokenInvalid' || /401|invalid token/i.test(message)) {
    return 'Discord refused DISCORD_TOKEN: reset the token in the developer portal (Bot → Reset Token) and update .env.';
  }
  if (/4014|disallowed intent/i.test(message)) {
    return 'Discord refused the Message Content intent: enable "Message Content Intent" under Bot → Privileged Gateway Intents in the developer portal.';
  }
  return `Could not connect to Discord at ${apiUrl}: ${message}`;
}

process.exit(await main());
