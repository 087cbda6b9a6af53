import { describe, expect, it } from 'vitest';
import { evidenceShown } from '../../../../src/bot/governance/historyThread.ts';
import { evidence } from './fakes.ts';

describe('the evidence a history thread posts', () => {
  /** Dialogues a–d held in #public, #side, #public and #public; e is forgotten (the log no longer has it). */
  const channels: Record<string, string> = { a: 'public', b: 'side', c: 'public', d: 'public' };
  const memory = {
    get: async (id: string) => (channels[id] ? ({ channelId: channels[id] } as never) : undefined),
  };

  it('is what its readers could read when it was drafted and still can, nothing else', async () => {
    // #side was readable when drafted, and closed since.
    const history = ['a', 'b', 'c', 'd', 'e'].map((id) => evidence(id, true));
    const shown = await evidenceShown(
      { access: { sharedWith: () => ['public'] }, memory },
      'governance',
      history,
    );
    expect(shown(evidence('a', true))).toBe(true);
    expect(shown(evidence('b', true))).toBe(false);
    expect(shown(evidence('c', false))).toBe(false);
    expect(shown(evidence('d', true, { forgotten: true }))).toBe(false);
    expect(shown(evidence('e', true))).toBe(false);
    // Drafted before visibility was stored: readable now, and still remembered.
    expect(shown(evidence('a', undefined))).toBe(true);
    expect(shown(evidence('e', undefined))).toBe(false);
  });
});
