import type { Config } from '../services/config.ts';
import { findAppError } from '../services/errors.ts';
import type { Logger } from '../services/logger.ts';
import { type App, composeApp } from './compose.ts';
import { describeLoginFailure } from './loginFailure.ts';
import { signalled } from './signals.ts';

/**
 * The bot in this process, its shards (`SHARDS`, or all of them) in one client: composes it, logs
 * in, and runs until SIGINT or SIGTERM, or until the manager that started it is gone. Resolves
 * with the exit code.
 */
export async function runBot(config: Config & { discordToken: string }, logger: Logger): Promise<number> {
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
    const stopOn = (signal: string) => {
      stop(signal).then(
        () => resolve(0),
        (error: unknown) => {
          logger.error({ err: error }, 'unclean shutdown');
          resolve(1);
        },
      );
    };
    void signalled().then(stopOn);
    // A shard the manager started: without its manager nobody restarts it, and a new manager
    // would start its twin, so it stops with it.
    if (process.connected) process.once('disconnect', () => stopOn('the shard manager is gone'));
  });

  try {
    await app.bot.start(config.discordToken);
  } catch (error) {
    const failure = describeLoginFailure(error, config.discordRestProxy ?? config.discordApiUrl);
    process.stderr.write(`${failure.message}\n`);
    await stop('login failed');
    return failure.exitCode;
  }
  return finished;
}
