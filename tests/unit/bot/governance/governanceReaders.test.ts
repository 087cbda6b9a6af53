import { describe, expect, it } from 'vitest';
import { governanceReaders } from '../../../../src/bot/governance/governanceReaders.ts';

describe('the governance channel’s readers, as the bot reports them', () => {
  it('are those of the governance channel, or of where /codex propose was asked when there is none', () => {
    const access = { sharedWith: (id: string) => (id === 'governance' ? ['governance', 'public'] : [id]) };
    const readers = governanceReaders(access, { governanceChannelId: 'governance' });
    expect(readers.channelFor('asked-here')).toBe('governance');
    expect(governanceReaders(access, { governanceChannelId: undefined }).channelFor('asked-here')).toBe(
      'asked-here',
    );
    const readable = readers.readable('governance');
    expect(['public', 'board', undefined].map(readable)).toEqual([true, false, false]);
  });
});
