import { embedLength } from 'discord.js';
import { describe, expect, it } from 'vitest';
import { proposalMessage } from '../../../../src/bot/governance/proposalCard.ts';
import type { Proposal } from '../../../../src/services/governance/proposalStore.ts';

const long = (n: number) => 'word '.repeat(n / 5);

describe('the proposal card', () => {
  it('stays within Discord’s embed limits however long the model was', () => {
    const proposal: Proposal = {
      id: 'p123',
      kind: 'amendment',
      state: 'pending',
      title: long(1000),
      principles: Array.from({ length: 10 }, () => long(600)),
      rationale: long(3000),
      consequences: long(3000),
      baseHash: 'h',
      baseVersion: 7,
      newCodex: '',
      diff: '',
      history: [],
      evidence: [],
      requestedBy: 'system',
      createdAt: Date.now(),
      updatedAt: Date.now(),
      openedBy: Array.from({ length: 50 }, (_, i) => `1234567890123456${i}`),
    };
    const [embed] = proposalMessage(proposal).embeds;
    const data = embed?.toJSON() ?? {};
    expect(embedLength(data)).toBeLessThanOrEqual(6000);
    for (const field of data.fields ?? []) expect(field.value.length).toBeLessThanOrEqual(1024);
  });
});
