import { describe, expect, it } from 'vitest';
import { ProgressThrottle } from '../../../../src/services/finetune/progressThrottle.ts';
import { ManualClock } from '../../../support/clock.ts';

function throttled() {
  const clock = new ManualClock();
  const stored: Array<{ at: number; step: number }> = [];
  const throttle = new ProgressThrottle<{ step: number }>({
    clock,
    store: (change) => {
      stored.push({ at: clock.now() - start, ...change });
    },
    onError: (error) => {
      throw error;
    },
  });
  const start = clock.now();
  return { clock, stored, throttle };
}

describe('ProgressThrottle', () => {
  it('stores the first change at once, then at most one a second, the latest of each second', async () => {
    const { clock, stored, throttle } = throttled();
    for (let step = 1; step <= 50; step++) {
      throttle.push({ step });
      await clock.advance(50);
    }
    // 50 changes over 2.5 s: the first, then one each second, each the latest by then.
    expect(stored).toEqual([
      { at: 0, step: 1 },
      { at: 1000, step: 20 },
      { at: 2000, step: 40 },
    ]);
    await clock.advance(1000);
    expect(stored.at(-1)).toEqual({ at: 3000, step: 50 });
    expect(clock.pending).toBe(0);
  });

  it('stores the waiting change when flushed, once, and leaves no timer behind', async () => {
    const { clock, stored, throttle } = throttled();
    throttle.push({ step: 1 });
    throttle.push({ step: 2 });
    throttle.push({ step: 3 });
    expect(stored).toEqual([{ at: 0, step: 1 }]);
    expect(clock.pending).toBe(1);
    throttle.flush();
    throttle.flush();
    expect(stored).toEqual([
      { at: 0, step: 1 },
      { at: 0, step: 3 },
    ]);
    expect(clock.pending).toBe(0);
    await clock.advance(5000);
    expect(stored).toHaveLength(2);
  });
});
