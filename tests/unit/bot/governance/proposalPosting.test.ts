import type { Client } from 'discord.js';
import { describe, expect, it } from 'vitest';
import {
  type PostingDeps,
  postProposal,
  postUnposted,
  repostPending,
} from '../../../../src/bot/governance/proposalPosting.ts';
import type { Proposal } from '../../../../src/services/governance/proposalStore.ts';
import { createSilentLogger } from '../../../../src/services/logger.ts';
import { createSingleFlight } from '../../../../src/shared/concurrency.ts';
import { evidence, pendingProposal } from './fakes.ts';

/**
 * A client whose gateway holds the channels in `held` (the servers of this process's shards),
 * each one a channel the bot may post in; the cards it posts are found, and recorded.
 */
function fakeClient(held: readonly string[]) {
  const posted: string[] = [];
  const cards = new Set<string>();
  const fetched: string[] = [];
  const channel = (id: string) => ({
    id,
    isSendable: () => true,
    isTextBased: () => true,
    messages: { fetch: async (messageId: string) => (cards.has(messageId) ? { id: messageId } : null) },
    send: async () => {
      posted.push(id);
      cards.add(`m${posted.length}`);
      return { id: `m${posted.length}` };
    },
  });
  const client = {
    channels: {
      cache: new Map(held.map((id) => [id, channel(id)])),
      fetch: async (id: string) => {
        fetched.push(id);
        return channel(id);
      },
    },
  } as unknown as Client;
  return { client, posted, fetched };
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

const deps = (client: Client, amendments: PostingDeps['amendments'], shardCount = 1): PostingDeps => ({
  client,
  config: { governanceChannelId: 'governance', shardCount },
  amendments,
  log: createSilentLogger(),
  posting: createSingleFlight<void>(),
});

describe('posting a proposal card', () => {
  it('withdraws a proposal drafted for another channel’s readers instead of posting it', async () => {
    const withdrawn: string[] = [];
    const drafted = pendingProposal([evidence('a', true)], { draftedFor: 'old-governance' });
    await postProposal(
      {
        // Never reached: the card is refused before the channel is looked up.
        client: {} as Client,
        config: { governanceChannelId: 'new-governance', shardCount: 1 },
        amendments: {
          get: async () => drafted,
          withdraw: async (id, reason) => {
            withdrawn.push(`${id}: ${reason}`);
            return { ok: true, proposal: drafted };
          },
          placed: async () => drafted,
          active: async () => drafted,
        },
        log: createSilentLogger(),
        posting: createSingleFlight<void>(),
      },
      drafted,
    );
    expect(withdrawn).toEqual([
      'p1: it could not be posted: it was drafted for the readers of <#old-governance>, not those of <#new-governance>',
    ]);
  });
});

describe('the card with several shard processes', () => {
  it('is not posted again at start by a process whose shard does not hold the governance channel', async () => {
    // The card was deleted; the proposal still remembers it.
    const loop = fakeAmendments(pendingProposal([], { channelId: 'governance', messageId: 'gone' }));
    const elsewhere = fakeClient(['another-server-channel']);

    await repostPending(deps(elsewhere.client, loop.amendments, 2));

    expect(elsewhere.fetched).toEqual([]);
    expect(elsewhere.posted).toEqual([]);
    expect(loop.now()).toMatchObject({ state: 'pending', messageId: 'gone' });
  });

  it('is posted again by the process whose shard holds the governance channel, once', async () => {
    const loop = fakeAmendments(pendingProposal([], { channelId: 'governance', messageId: 'gone' }));
    const holder = fakeClient(['governance']);

    await repostPending(deps(holder.client, loop.amendments, 2));
    await repostPending(deps(holder.client, loop.amendments, 2));

    expect(holder.posted).toEqual(['governance']);
    expect(loop.now()).toMatchObject({ channelId: 'governance', messageId: 'm1' });
  });

  it('of a proposal drafted in another process: only the holder posts it, when it looks', async () => {
    const loop = fakeAmendments(pendingProposal([]));
    const drafter = fakeClient([]);
    const holder = fakeClient(['governance']);

    // The drafting process hears its own draft, but does not hold the channel.
    await postProposal(deps(drafter.client, loop.amendments, 2), loop.now());
    expect(drafter.posted).toEqual([]);
    await postUnposted(deps(drafter.client, loop.amendments, 2));
    expect(drafter.posted).toEqual([]);

    await postUnposted(deps(holder.client, loop.amendments, 2));
    await postUnposted(deps(holder.client, loop.amendments, 2));
    expect(holder.posted).toEqual(['governance']);
    expect(loop.withdrawn).toEqual([]);
  });

  it('is posted by the only process, whatever its cache holds', async () => {
    const loop = fakeAmendments(pendingProposal([]));
    const only = fakeClient([]);

    await repostPending(deps(only.client, loop.amendments, 1));

    expect(only.posted).toEqual(['governance']);
  });
});
