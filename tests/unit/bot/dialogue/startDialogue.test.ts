import { describe, expect, it } from 'vitest';
import { threadNameFor } from '../../../../src/bot/dialogue/startDialogue.ts';

describe('threadNameFor', () => {
  it('uses the first line of the task', () => {
    expect(threadNameFor('\n  Plan   a trip\nto Rome', 'fallback')).toBe('Plan a trip');
  });
  it('keeps within 100 characters, cutting at a word', () => {
    const name = threadNameFor('word '.repeat(50), 'fallback');
    expect(name.length).toBeLessThanOrEqual(100);
    expect(name.endsWith('…')).toBe(true);
  });
  it('falls back when the task has no text', () => {
    expect(threadNameFor('', 'Task from alice')).toBe('Task from alice');
  });
});
