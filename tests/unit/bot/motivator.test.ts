import { describe, expect, it } from 'vitest';
import type { BotContext } from '../../../src/bot/botContext.ts';
import { createMotivatorJob, reflectionTask } from '../../../src/bot/motivator.ts';
import type { StoredRecord } from '../../../src/services/memory/interactionLog.ts';

const record = (over: Partial<StoredRecord> = {}): StoredRecord => ({
  seq: 1,
  id: 'r1',
  conversationId: 'c1',
  run: 1,
  task: 'Should we move to the coast?',
  answer: 'Perhaps.',
  turns: [],
  models: [],
  trajectory: [0.9],
  finalDissonance: 0.9,
  codexVersion: 1,
  startedAt: Date.now() - 1000,
  finishedAt: Date.now() - 500,
  embedded: true,
  ...over,
});

/** Just what the motivator reads of the bot (a fake: the end-to-end test drives the real one). */
function context(over: { idleMs?: number; active?: number; today?: number; records?: StoredRecord[] } = {}) {
  const store = new Map<string, unknown>();
  const day = `motivator:day:${new Date().toISOString().slice(0, 10)}`;
  if (over.today !== undefined) store.set(day, over.today);
  return {
    runtime: {
      config: { autonomyIdleMinutes: 30, autonomyMaxPerDay: 2 },
      memory: { between: () => over.records ?? [record()] },
    },
    lastHumanActivity: () => Date.now() - (over.idleMs ?? 60 * 60_000),
    runner: { activeThreads: new Set(Array.from({ length: over.active ?? 0 }, (_, i) => `t${i}`)) },
    store: {
      get: async (key: string) => store.get(key),
      set: async (key: string, value: unknown) => store.set(key, value),
    },
    client: { channels: { fetch: async () => null }, user: { id: 'bot' } },
  } as unknown as BotContext;
}

describe('the motivator', () => {
  it('waits while people are around or dialogues run, and past its daily limit', async () => {
    await expect(createMotivatorJob(context({ idleMs: 60_000 }), '* * * * *', 'chan').run()).resolves.toMatch(
      /not idle: the last human activity was 1 min ago/,
    );
    await expect(createMotivatorJob(context({ active: 1 }), '* * * * *', 'chan').run()).resolves.toBe(
      'not idle: dialogues are running',
    );
    await expect(createMotivatorJob(context({ today: 2 }), '* * * * *', 'chan').run()).resolves.toBe(
      'daily limit reached (2)',
    );
  });

  it('has nothing to do without dialogues, and never revisits its own reflections', async () => {
    await expect(createMotivatorJob(context({ records: [] }), '* * * * *', 'chan').run()).resolves.toMatch(
      /nothing to reflect on/,
    );
    const ownReflection = record({ channelId: 'chan' });
    await expect(
      createMotivatorJob(context({ records: [ownReflection] }), '* * * * *', 'chan').run(),
    ).resolves.toMatch(/nothing to reflect on/);
  });

  it('says it cannot post when the channel is not one it can open threads in', async () => {
    await expect(createMotivatorJob(context(), '* * * * *', 'chan').run()).rejects.toThrow(
      /AUTONOMY_CHANNEL_ID chan is not a text channel/,
    );
  });

  it('asks the personas to reflect on where they disagreed', () => {
    expect(reflectionTask(record())).toMatch(
      /final dissonance 0\.90[\s\S]*Should we move to the coast\?[\s\S]*What did we miss/,
    );
  });
});
