import { describe, expect, it } from 'vitest';
import { turnMessages } from '../../../../src/services/curation/sample.ts';
import type { RecordedTurn } from '../../../../src/services/memory/interactionLog.ts';

describe('turnMessages', () => {
  const turn: RecordedTurn = {
    speaker: 'BRICK',
    kind: 'thesis',
    system: 'You are BRICK.',
    prompt: 'Count the words.',
    exchange: [
      { role: 'assistant', content: 'TOOL_CALL: word_count {"text": "a b"}' },
      { role: 'user', content: 'TOOL_RESULT from word_count: 2' },
    ],
    output: 'Two words.',
    at: 0,
    toolCalls: [{ tool: 'word_count', input: { text: 'a b' }, ok: true, output: '2', ms: 1 }],
  };

  it('gives the turn as sent: system, prompt, the tool exchange, the output', () => {
    expect(turnMessages(turn)?.map((m) => m.role)).toEqual([
      'system',
      'user',
      'assistant',
      'user',
      'assistant',
    ]);
  });

  it('gives nothing for a turn not recorded whole, or with an empty part', () => {
    const { system: _system, ...withoutSystem } = turn;
    expect(turnMessages(withoutSystem)).toBeUndefined();
    const { exchange: _exchange, ...withoutExchange } = turn;
    expect(turnMessages(withoutExchange)).toBeUndefined();
    expect(turnMessages({ ...turn, output: '  ' })).toBeUndefined();
  });
});
