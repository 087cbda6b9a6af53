import { describe, expect, it } from 'vitest';
import { summarizeEarlierRuns } from '../../../src/graph/context.ts';
import { routeAfterRobin } from '../../../src/graph/routing.ts';
import type { DialogueStateValue, Turn } from '../../../src/graph/state.ts';
import { clip } from '../../../src/shared/text.ts';

const settings = { convergenceThreshold: 0.3, maxTurns: 3, maxToolRequests: 2 };
const state = (fields: Partial<DialogueStateValue>) =>
  ({ toolSpec: null, toolRequests: 0, dissonance: 0.5, round: 1, ...fields }) as DialogueStateValue;

describe('routeAfterRobin', () => {
  it('synthesizes once the dissonance is at or below the threshold', () => {
    expect(routeAfterRobin(state({ dissonance: 0.3 }), settings)).toBe('alfred_synthesize');
  });
  it('loops to BRICK while the dissonance is above the threshold and rounds remain', () => {
    expect(routeAfterRobin(state({ dissonance: 0.31, round: 2 }), settings)).toBe('brick');
  });
  it('synthesizes when the rounds are spent', () => {
    expect(routeAfterRobin(state({ dissonance: 0.9, round: 3 }), settings)).toBe('alfred_synthesize');
  });
  it('goes to the forge when BRICK asked for a tool, until the per-run limit', () => {
    expect(routeAfterRobin(state({ toolSpec: 'x', dissonance: 0 }), settings)).toBe('tool_forge');
    expect(routeAfterRobin(state({ toolSpec: 'x', dissonance: 0, toolRequests: 2 }), settings)).toBe(
      'alfred_synthesize',
    );
  });
});

describe('context bounds', () => {
  it('clips long text at a word and says how much was left out', () => {
    const clipped = clip('alpha beta gamma delta', 12, 'omitted');
    expect(clipped).toMatch(/^alpha beta … \[\d+ more characters omitted\]$/);
  });

  it('summarizes earlier runs newest first within the budget', () => {
    const turns: Turn[] = [];
    for (let run = 1; run <= 50; run++) {
      turns.push({
        speaker: 'USER',
        kind: 'task',
        content: `task ${run}`,
        display: `task ${run}`,
        run,
        round: 0,
        at: 0,
      });
      turns.push({
        speaker: 'ALFRED',
        kind: 'answer',
        content: `answer ${run}`,
        display: `answer ${run}`,
        run,
        round: 1,
        at: 0,
      });
    }
    const summary = summarizeEarlierRuns(turns, 51, 500);
    expect(summary.length).toBeLessThan(600);
    expect(summary).toContain('task 50');
    expect(summary).not.toContain('task 1\n');
    expect(summary).toMatch(/older exchanges omitted/);
  });
});
