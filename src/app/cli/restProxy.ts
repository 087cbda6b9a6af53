import { createLogger } from '../../services/logger.ts';
import { settingsOrSay } from '../settings.ts';
import { startRestProxy } from '../sharding/restProxy.ts';
import { signalled } from '../signals.ts';

/**
 * `npm run rest-proxy`: the REST gateway alone, for shards on several hosts, each of which points
 * `DISCORD_REST_PROXY` at it. It holds no token: each request brings the bot's.
 */
async function main(): Promise<number> {
  const config = settingsOrSay();
  if (!config) return 2;
  const logger = createLogger({ level: config.logLevel, format: config.logFormat });
  const proxy = await startRestProxy({
    discordApiUrl: config.discordApiUrl,
    port: config.restProxyPort,
    host: config.restProxyHost,
    logger,
  }).catch((error: unknown) => {
    process.stderr.write(
      `Could not listen on ${config.restProxyHost}:${config.restProxyPort} (REST_PROXY_HOST, REST_PROXY_PORT): ${(error as Error).message}\n`,
    );
    return undefined;
  });
  if (!proxy) return 1;
  logger.info(
    { host: config.restProxyHost, port: proxy.port, discord: config.discordApiUrl },
    'REST proxy listening: point DISCORD_REST_PROXY of every shard process here',
  );
  const signal = await signalled();
  logger.info({ signal }, 'shutting down');
  await proxy.close();
  return 0;
}

process.exit(await main());
