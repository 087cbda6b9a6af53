import { describe, expect, it } from 'vitest';
import { handleReaction, type ReactionEvent } from '../../../../src/bot/events/messageReactions.ts';
import { DEFAULT_REACTIONS, type Vote } from '../../../../src/services/curation/reactions.ts';
import { createSilentLogger } from '../../../../src/services/logger.ts';
import { ManualClock } from '../../../support/clock.ts';

const POST = { messageId: 'm1', conversationId: 't1', run: 1, persona: 'ROBIN', turn: 3 };

/** The listener's ports as plain fakes that record what they were asked. */
function fakes(architects: string[] = []) {
  const calls: string[] = [];
  const deps = {
    reactions: {
      async react(r: { messageId: string; userId: string; vote: Vote; architect: boolean }) {
        calls.push(`react ${r.userId} ${r.vote}${r.architect ? ' (architect)' : ''}`);
        return r.messageId === POST.messageId ? POST : undefined;
      },
      async unreact(r: { messageId: string; userId: string; vote: Vote }) {
        calls.push(`unreact ${r.userId} ${r.vote}`);
        return r.messageId === POST.messageId ? POST : undefined;
      },
    },
    architects: {
      async check(asker: { user: { id: string } }) {
        calls.push(`check ${asker.user.id}`);
        return architects.includes(asker.user.id)
          ? ({ ok: true } as const)
          : ({ ok: false, code: 'NOT_ARCHITECT', reason: 'no' } as const);
      },
    },
    curation: {
      async withdrawVetoed() {
        calls.push('withdraw');
        return { removed: {}, total: 1 };
      },
    },
    emoji: () => DEFAULT_REACTIONS,
    clock: new ManualClock(),
    logger: createSilentLogger(),
  };
  return { deps, calls };
}

const event = (over: Partial<ReactionEvent> = {}): ReactionEvent => ({
  change: 'add',
  emoji: { name: '👎', id: null },
  messageId: POST.messageId,
  guildId: 'g1',
  userId: 'u1',
  bot: false,
  ...over,
});

describe('a reaction to a persona post', () => {
  it('stores a member’s 👍 without asking who they are, and a 👎 after asking whether they govern', async () => {
    const { deps, calls } = fakes();
    await handleReaction(deps, event({ emoji: { name: '👍', id: null } }));
    await handleReaction(deps, event());
    expect(calls).toEqual(['react u1 up', 'check u1', 'react u1 down']);
  });

  it('withdraws the samples already written when the 👎 is an architect’s', async () => {
    const { deps, calls } = fakes(['ada']);
    await handleReaction(deps, event({ userId: 'ada' }));
    expect(calls).toEqual(['check ada', 'react ada down (architect)', 'withdraw']);
  });

  it('withdraws nothing for an architect’s 👎 on a message that is no persona’s post', async () => {
    const { deps, calls } = fakes(['ada']);
    await handleReaction(deps, event({ userId: 'ada', messageId: 'other' }));
    expect(calls).toEqual(['check ada', 'react ada down (architect)']);
  });

  it('takes a vote back when the reaction is removed', async () => {
    const { deps, calls } = fakes(['ada']);
    await handleReaction(deps, event({ change: 'remove', userId: 'ada' }));
    expect(calls).toEqual(['unreact ada down']);
  });

  it('ignores bots, DMs and other emoji', async () => {
    const { deps, calls } = fakes();
    await handleReaction(deps, event({ bot: true }));
    await handleReaction(deps, event({ guildId: null }));
    await handleReaction(deps, event({ emoji: { name: '🎉', id: null } }));
    expect(calls).toEqual([]);
  });

  it('counts the codex’s own emoji instead of the defaults', async () => {
    const { deps, calls } = fakes();
    const custom = { ...deps, emoji: () => ({ up: '⭐', down: '<:meh:123456789012345678>' }) };
    await handleReaction(custom, event({ emoji: { name: '👎', id: null } }));
    await handleReaction(custom, event({ emoji: { name: '⭐', id: null } }));
    await handleReaction(custom, event({ emoji: { name: 'meh', id: '123456789012345678' } }));
    expect(calls).toEqual(['react u1 up', 'check u1', 'react u1 down']);
  });
});
