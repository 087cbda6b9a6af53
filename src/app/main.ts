import { fileURLToPath } from 'node:url';
import { processEnvironment } from '../services/config.ts';
import { createLogger } from '../services/logger.ts';
import { managesShards, settleShardEnvironment, shardsOfThisProcess } from '../services/shardingConfig.ts';
import { MISSING_TOKEN } from './messages.ts';
import { settingsOrSay } from './settings.ts';

/**
 * `npm start`: the Discord bot. With several shards and `SHARDS` unset, a manager that starts a
 * process per shard (this same file, each told its shard); otherwise the bot itself, with the
 * shards `SHARDS` names (all of them by default) in one client. Each role loads only what it runs.
 */
async function main(): Promise<number> {
  const config = settingsOrSay();
  if (!config) return 2;
  const { discordToken } = config;
  if (!discordToken) {
    process.stderr.write(`${MISSING_TOKEN}\n`);
    return 2;
  }
  const logger = createLogger({ level: config.logLevel, format: config.logFormat });
  if (managesShards(config)) {
    const { runShardManager } = await import('./sharding/shardManager.ts');
    return runShardManager({
      config: { ...config, discordToken },
      logger,
      file: fileURLToPath(import.meta.url),
      execArgv: process.execArgv,
    });
  }
  settleShardEnvironment(config, processEnvironment());
  if (config.shards && config.shardCount > 1 && !config.discordRestProxy) {
    logger.warn(
      "SHARDS is set but DISCORD_REST_PROXY is not: this process posts to Discord directly, and its requests do not share the rate limits with the other hosts' shards (run npm run rest-proxy on one host and point DISCORD_REST_PROXY of every shard there)",
    );
  }
  const { runBot } = await import('./runBot.ts');
  // Which shard a line comes from, in every line of a sharded bot's processes.
  const shard = shardsOfThisProcess(config).join(',');
  return runBot({ ...config, discordToken }, config.shardCount > 1 ? logger.child({ shard }) : logger);
}

process.exit(await main());
