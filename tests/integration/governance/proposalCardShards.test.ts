import type { Client } from 'discord.js';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type PostingDeps,
  postProposal,
  postUnposted,
  repostPending,
} from '../../../src/bot/governance/proposalPosting.ts';
import type { Proposal } from '../../../src/services/governance/proposalStore.ts';
import { createSilentLogger } from '../../../src/services/logger.ts';
import { createSingleFlight } from '../../../src/shared/concurrency.ts';
import { DiscordEmulator, shardOfGuild } from '../../support/discordEmulator.ts';
import { loginClient } from '../../support/discordEmulatorHarness.ts';
import { pendingProposal } from '../../unit/bot/governance/fakes.ts';

/**
 * The proposal card with several shard processes, each a real discord.js Client logged into the
 * emulator on one shard of two: the governance channel is in the home server, which one shard
 * holds; the other shard holds a second server. Only the holder posts the card.
 */

const opened: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const one of opened.splice(0).reverse()) await one.close();
});

/** An emulator with two servers on two shards, and a client per shard ('holder' holds governance). */
async function twoShards() {
  const emulator = await DiscordEmulator.start({ shards: 2 });
  opened.push(emulator);
  const home = shardOfGuild(emulator.guildId, 2);
  emulator.createGuild('second', { shard: [1 - home, 2] });
  const governance = emulator.createChannel('governance');
  const clientOn = async (shard: number) => {
    const { client } = await loginClient(emulator, { shards: [shard], shardCount: 2 });
    opened.push({ close: () => client.destroy() });
    return client;
  };
  const holder = await clientOn(home);
  const elsewhere = await clientOn(1 - home);
  /** The REST requests about the governance channel (a fetch of it, a post in it). */
  const touched = () => emulator.requests.filter((r) => r.path.includes(`/channels/${governance}`));
  return { emulator, governance, holder, elsewhere, touched };
}

/** The loop as the posting sees it: one proposal, its placement and withdrawal remembered. */
function fakeAmendments(start: Proposal) {
  let proposal = start;
  const withdrawn: string[] = [];
  const amendments: PostingDeps['amendments'] = {
    get: async () => proposal,
    active: async () =>
      proposal.state === 'pending' || proposal.state === 'drafting' ? proposal : undefined,
    withdraw: async (id, reason) => {
      withdrawn.push(`${id}: ${reason}`);
      proposal = { ...proposal, state: 'abandoned', reason };
      return { ok: true, proposal };
    },
    placed: async (_id, where) => {
      proposal = { ...proposal, ...where };
      return proposal;
    },
  };
  return { amendments, withdrawn, now: () => proposal };
}

const deps = (
  client: Client,
  governanceChannelId: string,
  amendments: PostingDeps['amendments'],
  shardCount = 2,
): PostingDeps => ({
  client,
  config: { governanceChannelId, shardCount },
  amendments,
  log: createSilentLogger(),
  posting: createSingleFlight<void>(),
});

describe('the card with several shard processes', () => {
  it('is not posted again at start by a process whose shard does not hold the governance channel', async () => {
    const { emulator, governance, elsewhere, touched } = await twoShards();
    // The card was deleted; the proposal still remembers it.
    const loop = fakeAmendments(pendingProposal([], { channelId: governance, messageId: 'gone' }));

    await repostPending(deps(elsewhere, governance, loop.amendments));

    expect(touched()).toEqual([]);
    expect(emulator.messages(governance)).toEqual([]);
    expect(loop.now()).toMatchObject({ state: 'pending', messageId: 'gone' });
  });

  it('is posted again by the process whose shard holds the governance channel, once', async () => {
    const { emulator, governance, holder } = await twoShards();
    const loop = fakeAmendments(pendingProposal([], { channelId: governance, messageId: 'gone' }));

    await repostPending(deps(holder, governance, loop.amendments));
    await repostPending(deps(holder, governance, loop.amendments));

    const posted = emulator.messages(governance);
    expect(posted).toHaveLength(1);
    expect(loop.now()).toMatchObject({ channelId: governance, messageId: posted[0]?.id });
  });

  it('of a proposal drafted in another process: only the holder posts it, when it looks', async () => {
    const { emulator, governance, holder, elsewhere, touched } = await twoShards();
    const loop = fakeAmendments(pendingProposal([]));

    // The drafting process hears its own draft, but does not hold the channel.
    await postProposal(deps(elsewhere, governance, loop.amendments), loop.now());
    expect(touched()).toEqual([]);
    await postUnposted(deps(elsewhere, governance, loop.amendments));
    expect(touched()).toEqual([]);

    await postUnposted(deps(holder, governance, loop.amendments));
    await postUnposted(deps(holder, governance, loop.amendments));
    expect(emulator.messages(governance)).toHaveLength(1);
    expect(loop.now()).toMatchObject({
      channelId: governance,
      messageId: emulator.messages(governance)[0]?.id,
    });
    expect(loop.withdrawn).toEqual([]);
  });

  it('is posted by the only process, whatever its cache holds', async () => {
    const { emulator, governance } = await twoShards();
    const { client: only } = await loginClient(emulator, { shards: [0], shardCount: 1 });
    opened.push({ close: () => only.destroy() });
    const loop = fakeAmendments(pendingProposal([]));

    // Its cache has lost the channel (swept, say): one process posts everywhere all the same.
    only.channels.cache.delete(governance);
    await repostPending(deps(only, governance, loop.amendments, 1));

    expect(emulator.messages(governance)).toHaveLength(1);
  });
});
