import type { Clock } from '../services/clock.ts';

/** When a person last wrote to the bot or used a command (the motivator waits for quiet). */
export interface HumanActivity {
  /** Milliseconds since the epoch. */
  last(): number;
  /** Records activity now. */
  touch(): void;
}

export function createHumanActivity(clock: Clock): HumanActivity {
  let last = clock.now();
  return {
    last: () => last,
    touch: () => {
      last = clock.now();
    },
  };
}
