import { Client, Events, GatewayIntentBits, type Message, Partials, type TextChannel } from 'discord.js';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { REST_PROXY_AGENT, startRestProxy } from '../../src/app/sharding/restProxy.ts';
import { createSilentLogger } from '../../src/services/logger.ts';
import { DiscordEmulator, Intent, shardOfGuild } from '../support/discordEmulator.ts';

const opened: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const one of opened.splice(0).reverse()) await one.close();
});

/** One shard of the bot's gateway as a process of a sharded bot runs it: a real discord.js Client. */
async function startShard(emulator: DiscordEmulator, shard: number, api = emulator.apiUrl) {
  const client = new Client({
    intents: [
      GatewayIntentBits.Guilds,
      GatewayIntentBits.GuildMessages,
      GatewayIntentBits.MessageContent,
      GatewayIntentBits.DirectMessages,
    ],
    partials: [Partials.Channel],
    shards: [shard],
    shardCount: 2,
    rest: { api },
  });
  const messages: Message[] = [];
  client.on(Events.MessageCreate, (message) => messages.push(message));
  opened.push({ close: () => client.destroy() });
  const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
  await client.login(emulator.token);
  await ready;
  return { client, messages };
}

/** An emulator with a second server, in the shard (of two) that the first server is not in; `byShard[i]` is shard i's. */
async function twoServers(options: { maxConcurrency?: number } = {}) {
  const emulator = await DiscordEmulator.start({ shards: 2, ...options });
  opened.push(emulator);
  const home = { guildId: emulator.guildId, channelId: emulator.channelId };
  const firstShard = shardOfGuild(home.guildId, 2);
  const made = emulator.createGuild('second', { shard: [1 - firstShard, 2] });
  const second = { guildId: made.id, channelId: made.channelId };
  const byShard: [typeof home, typeof home] = firstShard === 0 ? [home, second] : [second, home];
  return { emulator, byShard };
}

/** A raw gateway connection that IDENTIFYs with `shard`; resolves with READY's data, or the close code. */
function identifyRaw(emulator: DiscordEmulator, shard: unknown): Promise<Record<string, unknown> | number> {
  const socket = new WebSocket(emulator.gatewayUrl);
  opened.push({ close: async () => socket.terminate() });
  return new Promise((resolve) => {
    socket.on('close', (code) => resolve(code));
    socket.on('message', (data) => {
      const payload = JSON.parse(String(data)) as { op: number; t?: string; d: Record<string, unknown> };
      if (payload.op === 10) {
        socket.send(JSON.stringify({ op: 2, d: { token: emulator.token, intents: Intent.Guilds, shard } }));
      } else if (payload.t === 'READY') {
        resolve(payload.d);
      }
    });
  });
}

describe('the Discord emulator with several servers and shards', () => {
  it("gives each shard's client only its own servers, their messages, and DMs to shard 0", async () => {
    const { emulator, byShard } = await twoServers();
    const zero = await startShard(emulator, 0);
    const one = await startShard(emulator, 1);
    expect(emulator.connectedShards.sort()).toEqual([
      [0, 2],
      [1, 2],
    ]);
    expect([...zero.client.guilds.cache.keys()]).toEqual([byShard[0].guildId]);
    expect([...one.client.guilds.cache.keys()]).toEqual([byShard[1].guildId]);

    const user = emulator.createUser('alice');
    emulator.userSays(user, byShard[1].channelId, 'for shard one');
    emulator.userSays(user, byShard[0].channelId, 'for shard zero');
    emulator.userDMs(user, 'a direct message');
    await emulator.waitFor(() => zero.messages.length >= 2 && one.messages.length >= 1);
    expect(zero.messages.map((m) => m.content)).toEqual(['for shard zero', 'a direct message']);
    expect(one.messages.map((m) => m.content)).toEqual(['for shard one']);
    // In each server the member has that server's roles, which discord.js knows.
    for (const [index, shard] of [zero, one].entries()) {
      const member = shard.messages[0]?.member;
      expect(member?.guild.id).toBe(byShard[index]?.guildId);
      expect(member?.roles.cache.map((role) => role.name).sort()).toEqual(['@everyone', 'member']);
    }
  });

  it("says in READY which shard a session is, lists that shard's servers, and refuses a shard beyond the count", async () => {
    const { emulator, byShard } = await twoServers();
    const ready = await identifyRaw(emulator, [1, 2]);
    expect(ready).toMatchObject({ shard: [1, 2], guilds: [{ id: byShard[1].guildId, unavailable: true }] });
    expect(await identifyRaw(emulator, [2, 2])).toBe(4010);
    expect(emulator.identified.map((identify) => identify.shard)).toEqual([[1, 2]]);
  });

  it('serves both shards through @discordjs/proxy, and holds back what a limit would refuse', async () => {
    const { emulator, byShard } = await twoServers({ maxConcurrency: 2 });
    const proxy = await startRestProxy({
      discordApiUrl: emulator.apiUrl,
      port: 0,
      host: '127.0.0.1',
      logger: createSilentLogger(),
    });
    opened.push(proxy);
    const shards = [await startShard(emulator, 0, proxy.api), await startShard(emulator, 1, proxy.api)];
    for (const [index, shard] of shards.entries()) {
      const channel = shard.client.channels.cache.get(byShard[index]?.channelId ?? '') as TextChannel;
      const thread = await channel.threads.create({ name: `thread of shard ${index}` });
      await thread.send(`hello from shard ${index}`);
      expect(emulator.messages(thread.id).map((m) => m.content)).toEqual([`hello from shard ${index}`]);
    }
    // The proxy learns a route's limit from Discord's headers and answers the process's request
    // over it with a 429 itself: discord.js waits, and every message arrives.
    emulator.setChannelRateLimit(2, 400);
    const channel = shards[0]?.client.channels.cache.get(byShard[0].channelId) as TextChannel;
    await Promise.all(['one', 'two', 'three', 'four'].map((word) => channel.send(word)));
    expect(
      emulator
        .messages(byShard[0].channelId)
        .map((m) => m.content)
        .filter((text) => ['one', 'two', 'three', 'four'].includes(text))
        .sort(),
    ).toEqual(['four', 'one', 'three', 'two']);
    expect(emulator.rateLimited).toEqual([]);
    // Every request of the processes reached Discord from the proxy.
    const posted = emulator.requests.filter((request) => request.method === 'POST');
    expect(posted.length).toBeGreaterThan(0);
    expect(posted.every((request) => request.userAgent?.includes(REST_PROXY_AGENT))).toBe(true);
    expect(emulator.unknownRoutes()).toEqual([]);
    expect(emulator.requests.every((request) => request.status !== 401)).toBe(true);
  });
});
