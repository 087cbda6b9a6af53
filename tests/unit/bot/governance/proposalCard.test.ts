import { embedLength } from 'discord.js';
import { describe, expect, it } from 'vitest';
import {
  FORGOTTEN_EVIDENCE,
  historyMessages,
  proposalMessage,
  WITHHELD_EVIDENCE,
} from '../../../../src/bot/governance/proposalCard.ts';
import type { Proposal } from '../../../../src/services/governance/proposalStore.ts';
import { evidence, pendingProposal } from './fakes.ts';

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

describe('the legislative history', () => {
  it('says which evidence is withheld and which forgotten', () => {
    const messages = historyMessages(
      pendingProposal([evidence('a', true), evidence('b', false), evidence('c', false, { forgotten: true })]),
    ).join('\n');
    expect(messages).toContain('**Dialogue a**\nTask: words of a');
    expect(messages).toContain(`**Dialogue b**\n${WITHHELD_EVIDENCE}`);
    expect(messages).toContain(`**Dialogue c**\n${FORGOTTEN_EVIDENCE}`);
    // Without a word on what may be shown, only what was marked shown at draft time is.
    expect(historyMessages(pendingProposal([evidence('a', undefined)])).join('\n')).toContain(
      WITHHELD_EVIDENCE,
    );
  });
});
