import { describe, expect, it } from 'vitest';
import { PROPOSAL_POLL_MS } from '../../src/bot/lifecycle.ts';
import { type Proposal, ProposalStore } from '../../src/services/governance/proposalStore.ts';
import { ManualClock } from '../support/clock.ts';
import { tempFolders } from '../support/fixtures.ts';
import { usePostgres } from '../support/postgres.ts';
import { useBotHarness } from '../support/useBotHarness.ts';

/**
 * The process that holds the governance channel, of a bot whose shards' processes share their
 * state on PostgreSQL: a proposal another process drafted (whose bus this one does not hear)
 * reaches the architect when the poll, on the injected clock, next looks.
 */

const postgres = usePostgres();
const folders = tempFolders();
const bot = useBotHarness({ discord: { shards: 2 }, channels: { GOVERNANCE_CHANNEL_ID: 'governance' } });

/** A proposal as another process leaves it once drafted: pending, without a card. */
const drafted = (at: number): Proposal => ({
  id: 'p1',
  kind: 'amendment',
  state: 'pending',
  title: 'ROBIN weighs the cost',
  principles: ['ROBIN weighs the cost of a plan'],
  rationale: 'Dialogues ignored money.',
  consequences: 'Plans name their cost.',
  baseHash: 'h',
  baseVersion: 1,
  newCodex: '',
  diff: '',
  history: [],
  evidence: [],
  requestedBy: 'system',
  createdAt: at,
  updatedAt: at,
  openedBy: [],
});

describe('the governance channel of a bot in several shard processes', () => {
  it('gets the card of a proposal drafted in another process at the next poll, not before', async () => {
    const clock = new ManualClock();
    const databaseUrl = await postgres.database();
    const h = await bot.start({ env: { DATABASE_URL: databaseUrl, SHARD_COUNT: '2' }, compose: { clock } });
    const governance = h.channels.GOVERNANCE_CHANNEL_ID ?? '';
    const elsewhere = await ProposalStore.open({ dataDir: folders.folder(), databaseUrl });
    try {
      await elsewhere.create(drafted(clock.now()));
      const cards = () => h.discord.messages(governance).filter((m) => m.author.id === h.discord.botUserId);
      await clock.advance(PROPOSAL_POLL_MS - 1);
      expect(cards()).toEqual([]);
      await clock.advance(1);
      await h.discord.waitFor(() => cards()[0], 15_000);
      expect(JSON.stringify(cards()[0]?.embeds)).toContain('ROBIN weighs the cost');
      // The card is in Discord a moment before its id is in the store.
      await expect
        .poll(async () => (await elsewhere.get('p1'))?.messageId, { timeout: 15_000 })
        .toBe(cards()[0]?.id);
      // Placed: the next polls leave it alone.
      await clock.advance(PROPOSAL_POLL_MS * 2);
      expect(cards()).toHaveLength(1);
    } finally {
      await elsewhere.close();
      folders.cleanup();
    }
  });
});
