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
        return 'private-thread';
      },
    });
    expect(scope).toEqual({
      guildId: 'home',
      channelId: 'c1',
      threadId: 't1',
      readableChannels: ['c1'],
      visibility: 'private-thread',
    });
    expect(asked).toEqual(['t1']);
  });

  it('has no visibility when the bot cannot tell (it then counts as not public)', () => {
    expect(dialogueScope(thread, { sharedWith: () => [], visibilityOf: () => undefined })).not.toHaveProperty(
      'visibility',
    );
    expect(dialogueScope(thread)).not.toHaveProperty('visibility');
  });
});
