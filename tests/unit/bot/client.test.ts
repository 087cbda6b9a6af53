import { afterEach, describe, expect, it } from 'vitest';
import { createClient } from '../../../src/bot/client.ts';
import { loadConfig } from '../../../src/services/config.ts';
import { settleShardEnvironment } from '../../../src/services/shardingConfig.ts';

const DB = { DATABASE_URL: 'postgres://bat:os@db:5432/bat' };
const saved = { SHARDS: process.env.SHARDS, SHARD_COUNT: process.env.SHARD_COUNT };

afterEach(() => {
  for (const [key, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
});

describe("the bot's discord.js client", () => {
  it('connects the shards SHARDS names, of SHARD_COUNT, though discord.js reads both variables itself', async () => {
    // Our list, which discord.js would parse as JSON, and an empty count, which it would read as 0.
    const env = { ...DB, SHARD_COUNT: '4', SHARDS: '0,2' };
    Object.assign(process.env, { SHARDS: '0,2', SHARD_COUNT: '4' });
    const config = loadConfig(env);
    settleShardEnvironment(config, process.env);
    const client = createClient(config);
    expect(client.options).toMatchObject({ shards: [0, 2], shardCount: 4 });
    await client.destroy();
  });

  it('stays one connection of one shard when SHARD_COUNT is left empty in .env', async () => {
    Object.assign(process.env, { SHARD_COUNT: '', SHARDS: '' });
    const config = loadConfig({ SHARD_COUNT: '', SHARDS: '' });
    settleShardEnvironment(config, process.env);
    const client = createClient(config);
    expect(client.options).toMatchObject({ shards: [0], shardCount: 1 });
    await client.destroy();
  });

  it('posts through the shared REST proxy when there is one', async () => {
    const direct = createClient(loadConfig({}));
    const proxied = createClient(loadConfig({ DISCORD_REST_PROXY: 'http://10.0.0.5:8080' }));
    expect(direct.rest.options.api).toBe('https://discord.com/api');
    expect(proxied.rest.options.api).toBe('http://10.0.0.5:8080/api');
    await Promise.all([direct.destroy(), proxied.destroy()]);
  });
});
