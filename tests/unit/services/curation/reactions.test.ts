import { afterEach, describe, expect, it } from 'vitest';
import { ReactionStore, voteOf } from '../../../../src/services/curation/reactions.ts';
import type { StoreLocation } from '../../../../src/services/db/openStoreDatabase.ts';
import { tempFolders } from '../../../support/fixtures.ts';
import { useStoreBackends } from '../../../support/postgres.ts';

const folders = tempFolders();
const opened: ReactionStore[] = [];
afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
  folders.cleanup();
});

async function open(location: StoreLocation): Promise<ReactionStore> {
  const store = await ReactionStore.open(location);
  opened.push(store);
  return store;
}

/** A store holding one dialogue's posts: ROBIN's turn split in two messages, BRICK's in one. */
async function withPosts(location: StoreLocation): Promise<ReactionStore> {
  const store = await open(location);
  await store.recordTurn({
    conversationId: 't1',
    run: 1,
    persona: 'BRICK',
    turn: 2,
    messageIds: ['b1'],
    at: 1,
  });
  await store.recordTurn({
    conversationId: 't1',
    run: 1,
    persona: 'ROBIN',
    turn: 3,
    messageIds: ['r1', 'r2'],
    at: 2,
  });
  await store.recordTurn({
    conversationId: 't1',
    run: 2,
    persona: 'ROBIN',
    turn: 3,
    messageIds: ['r3'],
    at: 3,
  });
  return store;
}

const vote = (messageId: string, userId: string, v: 'up' | 'down', architect = false, at = 10) => ({
  messageId,
  userId,
  vote: v,
  architect,
  at,
});

describe.each(useStoreBackends())('the reaction store on $name', (backend) => {
  const place = () => backend.location(folders.folder());

  it('knows which turn each message of a post is, and ignores reactions to other messages', async () => {
    const s = await withPosts(await place());
    expect(await s.postOf('r2')).toEqual({
      messageId: 'r2',
      conversationId: 't1',
      run: 1,
      persona: 'ROBIN',
      turn: 3,
    });
    expect(await s.react(vote('someone-elses', 'u1', 'down'))).toBeUndefined();
    expect(await s.reactedTurns()).toEqual([]);
  });

  it('gathers what people said of a persona’s part of one run, over all its messages, each person once', async () => {
    const s = await withPosts(await place());
    await s.react(vote('r1', 'u1', 'up', false, 10));
    await s.react(vote('r2', 'u1', 'up', false, 11));
    await s.react(vote('r2', 'u2', 'down', false, 12));
    await s.react(vote('b1', 'u3', 'up', false, 13));
    await s.react(vote('r3', 'u4', 'down', true, 14));
    expect(await s.peopleOn('t1', 1, 'ROBIN')).toEqual({ up: ['u1'], down: ['u2'], architectDown: false });
    expect(await s.peopleOn('t1', 1, 'BRICK')).toEqual({ up: ['u3'], down: [], architectDown: false });
    expect(await s.peopleOn('t1', 2, 'ROBIN')).toEqual({ up: [], down: ['u4'], architectDown: true });
    expect(await s.peopleOn('t1', 1, 'ALFRED')).toEqual({ up: [], down: [], architectDown: false });
    expect((await s.reactedTurns('ROBIN')).map((t) => [t.run, t.up, t.down])).toEqual([
      [1, ['u1'], ['u2']],
      [2, [], ['u4']],
    ]);
    expect(await s.reactedTurns()).toHaveLength(3);
  });

  it('lists the people in the order they reacted, even within the same millisecond', async () => {
    const s = await withPosts(await place());
    for (const user of ['u3', 'u1', 'u2']) await s.react(vote('r1', user, 'up', false, 10));
    expect((await s.peopleOn('t1', 1, 'ROBIN')).up).toEqual(['u3', 'u1', 'u2']);
  });

  it('takes a vote back, and keeps what it holds across a reopening', async () => {
    const location = await place();
    const s = await withPosts(location);
    await s.react(vote('r1', 'u1', 'down'));
    await s.react(vote('r1', 'u2', 'down'));
    expect((await s.unreact({ messageId: 'r1', userId: 'u1', vote: 'down' }))?.persona).toBe('ROBIN');
    await s.close();
    const reopened = await open(location);
    expect((await reopened.peopleOn('t1', 1, 'ROBIN')).down).toEqual(['u2']);
  });

  it('lists an architect’s 👎 as a veto until its samples are removed; one taken back first is none', async () => {
    const s = await withPosts(await place());
    await s.react(vote('r1', 'ada', 'down', true));
    await s.react(vote('r2', 'ada', 'down', true));
    await s.react(vote('b1', 'u1', 'down', false));
    expect(await s.pendingVetoes()).toEqual([{ conversationId: 't1', run: 1, persona: 'ROBIN' }]);
    await s.markVetoesApplied(await s.pendingVetoes());
    expect(await s.pendingVetoes()).toEqual([]);
    // The 👎 stays: it keeps new samples of the part out.
    expect((await s.peopleOn('t1', 1, 'ROBIN')).architectDown).toBe(true);
    await s.react(vote('r3', 'ada', 'down', true));
    await s.unreact({ messageId: 'r3', userId: 'ada', vote: 'down' });
    expect(await s.pendingVetoes()).toEqual([]);
  });

  it('forgets a conversation’s posts and every reaction to them', async () => {
    const s = await withPosts(await place());
    await s.recordTurn({
      conversationId: 't2',
      run: 1,
      persona: 'BRICK',
      turn: 2,
      messageIds: ['x1'],
      at: 1,
    });
    await s.react(vote('r1', 'u1', 'up'));
    await s.react(vote('x1', 'u1', 'up'));
    await s.forgetConversations(['t1']);
    expect(await s.postOf('r1')).toBeUndefined();
    expect((await s.reactedTurns()).map((t) => t.conversationId)).toEqual(['t2']);
  });
});

describe('which emoji vote', () => {
  it('reads 👍 and 👎 by default, and a server’s emoji by name, id or as a message writes it', () => {
    expect(voteOf({ name: '👍', id: null })).toBe('up');
    expect(voteOf({ name: '👎', id: null })).toBe('down');
    expect(voteOf({ name: '🎉', id: null })).toBeUndefined();
    const settings = { up: '<:yes:111111111111111111>', down: 'nope' };
    expect(voteOf({ name: 'yes', id: '111111111111111111' }, settings)).toBe('up');
    expect(voteOf({ name: 'nope', id: '222222222222222222' }, settings)).toBe('down');
    expect(voteOf({ name: '👍', id: null }, settings)).toBeUndefined();
  });
});
