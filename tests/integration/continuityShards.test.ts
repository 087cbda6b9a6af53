import { afterEach, describe, expect, it } from 'vitest';
import { createContinuity, INTERRUPTED_NOTICE } from '../../src/bot/dialogue/continuity.ts';
import { createInMemoryAppStore } from '../../src/services/appStore.ts';
import { createSilentLogger } from '../../src/services/logger.ts';
import { ManualClock } from '../support/clock.ts';
import { DiscordEmulator, shardOfGuild } from '../support/discordEmulator.ts';
import { loginClient } from '../support/discordEmulatorHarness.ts';

const opened: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const one of opened.splice(0).reverse()) await one.close();
});

describe('continuity across restarts, with shards in several processes on one store', () => {
  it("tells a restarted shard's own interrupted threads, and leaves another shard's running ones alone", async () => {
    const emulator = await DiscordEmulator.start({ shards: 2 });
    opened.push(emulator);
    const homeShard = shardOfGuild(emulator.guildId, 2);
    const other = emulator.createGuild('second', { shard: [1 - homeShard, 2] });
    const user = emulator.createUser('alice');
    const threads = [emulator.channelId, other.channelId].map((channelId) =>
      emulator.userStartsThread(user, channelId, 'a long task', { members: [emulator.botUserId] }),
    );
    const [homeThread, otherThread] = threads as [string, string];
    const store = createInMemoryAppStore();
    const clock = new ManualClock();
    const continuityOf = async (shard: number) => {
      const { client } = await loginClient(emulator, { shards: [shard], shardCount: 2 });
      opened.push({ close: () => client.destroy() });
      const scope = `shards:${shard}`;
      return createContinuity({ client, store, clock, logger: createSilentLogger(), scope });
    };
    const home = await continuityOf(homeShard);
    const second = await continuityOf(1 - homeShard);
    await home.runStarted(homeThread);
    await second.runStarted(otherThread);

    // The home shard's process crashed and starts again; the other one runs on.
    const restarted = await continuityOf(homeShard);
    await expect(restarted.resume(async () => {})).resolves.toMatchObject({ interrupted: 1 });
    await emulator.waitFor(() => emulator.messages(homeThread).some((m) => m.content === INTERRUPTED_NOTICE));
    expect(emulator.messages(otherThread)).toEqual([]);
    expect(await store.get(`continuity:running:shards:${1 - homeShard}`)).toEqual([otherThread]);
  });
});
