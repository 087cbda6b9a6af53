import { describe, expect, it } from 'vitest';
import { decideVisibility, type PlaceFacts } from '../../../../src/bot/access/visibility.ts';
import { dialogueScope } from '../../../../src/bot/dialogue/dialogueScope.ts';

const facts = (over: Partial<PlaceFacts> = {}): PlaceFacts => ({
  guildId: 'home',
  homeGuildId: 'home',
  privateThread: false,
  everyoneCanView: true,
  ...over,
});

describe('decideVisibility', () => {
  it('is public in the home server, in a channel @everyone can read, outside a private thread', () => {
    expect(decideVisibility(facts())).toBe('public');
  });

  it('is restricted where @everyone cannot read, private in a private thread (whatever the channel)', () => {
    expect(decideVisibility(facts({ everyoneCanView: false }))).toBe('restricted');
    expect(decideVisibility(facts({ privateThread: true }))).toBe('private-thread');
    expect(decideVisibility(facts({ privateThread: true, everyoneCanView: false }))).toBe('private-thread');
  });

  it('is foreign in another server, and in every server while the home server is unknown; dm outside servers', () => {
    expect(decideVisibility(facts({ guildId: 'elsewhere' }))).toBe('foreign');
    expect(decideVisibility(facts({ homeGuildId: undefined }))).toBe('foreign');
    expect(decideVisibility(facts({ guildId: null }))).toBe('dm');
  });
});

describe('dialogueScope', () => {
  const thread = { id: 't1', guildId: 'home', parentId: 'c1' };

  it('carries the visibility the bot finds for the thread, for the interaction log', () => {
    const asked: string[] = [];
    const scope = dialogueScope(thread, {
      sharedWith: (channelId) => [channelId],
      visibilityOf: (channelId) => {
        asked.push(channelId);
        return 'restricted';
      },
    });
    expect(scope).toEqual({
      guildId: 'home',
      channelId: 'c1',
      threadId: 't1',
      readableChannels: ['c1'],
      visibility: 'restricted',
    });
    expect(asked).toEqual(['t1']);
  });

  it('files a public thread’s dialogue under its channel, a private thread’s under the thread itself', () => {
    // What the bot says the thread's readers may read: its channel's places, and a private thread itself.
    const access = {
      sharedWith: (id: string) => (id === 'p1' ? ['c1', 'c2', 'p1'] : ['c1', 'c2']),
    };
    expect(dialogueScope(thread, access)).toMatchObject({ channelId: 'c1', readableChannels: ['c1', 'c2'] });
    expect(dialogueScope({ ...thread, id: 'p1', private: true }, access)).toMatchObject({
      channelId: 'p1',
      threadId: 'p1',
      readableChannels: ['c1', 'c2', 'p1'],
    });
  });

  it('has no visibility when the bot cannot tell (it then counts as not public)', () => {
    expect(dialogueScope(thread, { sharedWith: () => [], visibilityOf: () => undefined })).not.toHaveProperty(
      'visibility',
    );
    expect(dialogueScope(thread)).not.toHaveProperty('visibility');
  });
});
