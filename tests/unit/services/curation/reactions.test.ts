import { afterEach, describe, expect, it } from 'vitest';
import { ReactionStore, voteOf } from '../../../../src/services/curation/reactions.ts';
import { tempFolders } from '../../../support/fixtures.ts';

const folders = tempFolders();
let store: ReactionStore | undefined;
afterEach(() => {
  store?.close();
  store = undefined;
  folders.cleanup();
});

/** A store holding one dialogue's posts: ROBIN's turn split in two messages, BRICK's in one. */
function withPosts(dir = folders.folder()) {
  store = new ReactionStore(dir);
  store.recordTurn({ conversationId: 't1', run: 1, persona: 'BRICK', turn: 2, messageIds: ['b1'], at: 1 });
  store.recordTurn({
    conversationId: 't1',
    run: 1,
    persona: 'ROBIN',
    turn: 3,
    messageIds: ['r1', 'r2'],
    at: 2,
  });
  store.recordTurn({ conversationId: 't1', run: 2, persona: 'ROBIN', turn: 3, messageIds: ['r3'], at: 3 });
  return store;
}

const vote = (messageId: string, userId: string, v: 'up' | 'down', architect = false, at = 10) => ({
  messageId,
  userId,
  vote: v,
  architect,
  at,
});

describe('the reaction store', () => {
  it('knows which turn each message of a post is, and ignores reactions to other messages', () => {
    const s = withPosts();
    expect(s.postOf('r2')).toEqual({
      messageId: 'r2',
      conversationId: 't1',
      run: 1,
      persona: 'ROBIN',
      turn: 3,
    });
    expect(s.react(vote('someone-elses', 'u1', 'down'))).toBeUndefined();
    expect(s.reactedTurns()).toEqual([]);
  });

  it('gathers what people said of a persona’s part of one run, over all its messages, each person once', () => {
    const s = withPosts();
    s.react(vote('r1', 'u1', 'up', false, 10));
    s.react(vote('r2', 'u1', 'up', false, 11));
    s.react(vote('r2', 'u2', 'down', false, 12));
    s.react(vote('b1', 'u3', 'up', false, 13));
    s.react(vote('r3', 'u4', 'down', true, 14));
    expect(s.peopleOn('t1', 1, 'ROBIN')).toEqual({ up: ['u1'], down: ['u2'], architectDown: false });
    expect(s.peopleOn('t1', 1, 'BRICK')).toEqual({ up: ['u3'], down: [], architectDown: false });
    expect(s.peopleOn('t1', 2, 'ROBIN')).toEqual({ up: [], down: ['u4'], architectDown: true });
    expect(s.peopleOn('t1', 1, 'ALFRED')).toEqual({ up: [], down: [], architectDown: false });
    expect(s.reactedTurns('ROBIN').map((t) => [t.run, t.up, t.down])).toEqual([
      [1, ['u1'], ['u2']],
      [2, [], ['u4']],
    ]);
    expect(s.reactedTurns()).toHaveLength(3);
  });

  it('takes a vote back, and keeps what it holds across a reopening', () => {
    const dir = folders.folder();
    withPosts(dir).react(vote('r1', 'u1', 'down'));
    store?.react(vote('r1', 'u2', 'down'));
    expect(store?.unreact({ messageId: 'r1', userId: 'u1', vote: 'down' })?.persona).toBe('ROBIN');
    store?.close();
    store = new ReactionStore(dir);
    expect(store.peopleOn('t1', 1, 'ROBIN').down).toEqual(['u2']);
  });

  it('lists an architect’s 👎 as a veto until its samples are removed; one taken back first is none', () => {
    const s = withPosts();
    s.react(vote('r1', 'ada', 'down', true));
    s.react(vote('r2', 'ada', 'down', true));
    s.react(vote('b1', 'u1', 'down', false));
    expect(s.pendingVetoes()).toEqual([{ conversationId: 't1', run: 1, persona: 'ROBIN' }]);
    s.markVetoesApplied(s.pendingVetoes());
    expect(s.pendingVetoes()).toEqual([]);
    // The 👎 stays: it keeps new samples of the part out.
    expect(s.peopleOn('t1', 1, 'ROBIN').architectDown).toBe(true);
    s.react(vote('r3', 'ada', 'down', true));
    s.unreact({ messageId: 'r3', userId: 'ada', vote: 'down' });
    expect(s.pendingVetoes()).toEqual([]);
  });

  it('forgets a conversation’s posts and every reaction to them', () => {
    const s = withPosts();
    s.recordTurn({ conversationId: 't2', run: 1, persona: 'BRICK', turn: 2, messageIds: ['x1'], at: 1 });
    s.react(vote('r1', 'u1', 'up'));
    s.react(vote('x1', 'u1', 'up'));
    s.forgetConversations(['t1']);
    expect(s.postOf('r1')).toBeUndefined();
    expect(s.reactedTurns().map((t) => t.conversationId)).toEqual(['t2']);
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
