import type { Client } from 'discord.js';
import { describe, expect, it } from 'vitest';
import { postProposal } from '../../../../src/bot/governance/proposalPosting.ts';
import { createSilentLogger } from '../../../../src/services/logger.ts';
import { createSingleFlight } from '../../../../src/shared/concurrency.ts';
import { evidence, pendingProposal } from './fakes.ts';

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

// The card with several shard processes, each a real client on the Discord emulator:
// tests/integration/governance/proposalCardShards.test.ts.
