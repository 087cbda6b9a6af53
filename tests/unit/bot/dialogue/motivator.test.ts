import { describe, expect, it } from 'vitest';
import {
  createMotivatorJob,
  type MotivatorPorts,
  reflectionTask,
} from '../../../../src/bot/dialogue/motivator.ts';
import type { NewDialogue, StartOutcome } from '../../../../src/bot/dialogue/startDialogue.ts';
import { createInMemoryAppStore } from '../../../../src/services/appStore.ts';
import { loadConfig } from '../../../../src/services/config.ts';
import type { StoredRecord } from '../../../../src/services/memory/interactionLog.ts';
import { ManualClock } from '../../../support/clock.ts';

const MINUTE = 60_000;
type StartedThread = Extract<StartOutcome, { ok: true }>['thread'];

const record = (finishedAt: number, over: Partial<StoredRecord> = {}): StoredRecord => ({
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
  channelId: 'public',
  startedAt: finishedAt - 1000,
  finishedAt,
  embedded: true,
  ...over,
});

/** The motivator's ports, every one a fake: a clock to move, a store, a starter that records. */
function fakes(
  options: { records?: (now: number) => StoredRecord[]; active?: number; idleMinutes?: number } = {},
) {
  const clock = new ManualClock('2026-11-30T23:00:00Z');
  const lastActivity = () => clock.now() - (options.idleMinutes ?? 60) * MINUTE;
  const started: NewDialogue[] = [];
  let outcome: StartOutcome | undefined;
  const ports: MotivatorPorts = {
    config: loadConfig({ AUTONOMY_IDLE_MINUTES: '30', AUTONOMY_MAX_PER_DAY: '2' }),
    clock,
    store: createInMemoryAppStore(),
    memory: {
      between: async (from, to) =>
        (options.records?.(clock.now()) ?? [record(clock.now() - MINUTE)]).filter(
          (r) => r.finishedAt >= from && r.finishedAt < to,
        ),
    },
    runner: { activeThreads: new Set(Array.from({ length: options.active ?? 0 }, (_, i) => `t${i}`)) },
    activity: { last: () => lastActivity() },
    // The reflection channel's readers can read it and the public channel, not 'private'.
    access: { sharedWith: (channelId) => [channelId, 'public'] },
    dialogues: {
      async start(request) {
        started.push(request);
        return outcome ?? { ok: false, code: 'CHANNEL_UNUSABLE', reason: 'it is not a text channel' };
      },
    },
  };
  return { ports, clock, started, succeed: (result: StartOutcome) => (outcome = result) };
}

describe('the motivator', () => {
  it('waits while people are around or dialogues run', async () => {
    const around = fakes({ idleMinutes: 5 });
    await expect(createMotivatorJob(around.ports, '* * * * *', 'chan').run()).resolves.toMatch(
      /not idle: the last human activity was 5 min ago/,
    );
    const busy = fakes({ active: 1 });
    await expect(createMotivatorJob(busy.ports, '* * * * *', 'chan').run()).resolves.toBe(
      'not idle: dialogues are running',
    );
  });

  it('counts its daily limit per UTC day: the count starts again after midnight', async () => {
    const { ports, clock, started } = fakes();
    const job = createMotivatorJob(ports, '* * * * *', 'chan');
    // The channel is unusable: the attempt is not counted.
    await expect(job.run()).rejects.toThrow(/AUTONOMY_CHANNEL_ID is chan, but it is not a text channel/);
    await ports.store.set('motivator:day:2026-11-30', 2);
    await expect(job.run()).resolves.toBe('daily limit reached (2)');
    expect(started).toHaveLength(1);
    // 23:00 + 61 minutes is the next UTC day.
    await clock.advance(61 * MINUTE);
    await expect(job.run()).rejects.toThrow(/AUTONOMY_CHANNEL_ID/);
    expect(started).toHaveLength(2);
    expect(await ports.store.get('motivator:day:2026-12-01')).toBe(0);
  });

  it('has nothing to do without recent dialogues, and never revisits its own reflections', async () => {
    const none = fakes({ records: () => [] });
    await expect(createMotivatorJob(none.ports, '* * * * *', 'chan').run()).resolves.toMatch(
      /nothing to reflect on/,
    );
    const own = fakes({ records: (now) => [record(now - MINUTE, { channelId: 'chan' })] });
    await expect(createMotivatorJob(own.ports, '* * * * *', 'chan').run()).resolves.toMatch(
      /nothing to reflect on/,
    );
    // From a channel the reflection's readers cannot all read: never brought there.
    const hidden = fakes({ records: (now) => [record(now - MINUTE, { channelId: 'private' })] });
    await expect(createMotivatorJob(hidden.ports, '* * * * *', 'chan').run()).resolves.toMatch(
      /nothing to reflect on/,
    );
    // From a private thread of the public channel (filed under the thread, or under the channel
    // before threads were their own place): only its members may read it.
    for (const filed of ['t-private', 'public']) {
      const whisper = fakes({
        records: (now) => [
          record(now - MINUTE, {
            conversationId: 't-private',
            channelId: filed,
            visibility: 'private-thread',
          }),
        ],
      });
      await expect(createMotivatorJob(whisper.ports, '* * * * *', 'chan').run()).resolves.toMatch(
        /nothing to reflect on/,
      );
    }
    // Older than the 7-day window: forgotten by the motivator.
    const old = fakes({ records: (now) => [record(now - 8 * 24 * 60 * MINUTE)] });
    await expect(createMotivatorJob(old.ports, '* * * * *', 'chan').run()).resolves.toMatch(
      /nothing to reflect on/,
    );
  });

  it('opens a reflection on the most dissonant dialogue in its channel', async () => {
    const { ports, started, succeed } = fakes({
      records: (now) => [
        record(now - 2 * MINUTE, { id: 'calm', finalDissonance: 0.4 }),
        record(now - MINUTE, { id: 'torn', finalDissonance: 0.95, task: 'Torn task' }),
      ],
    });
    const job = createMotivatorJob(ports, '* * * * *', 'chan');
    // The thread is a discord.js object the motivator only reads the id of.
    succeed({ ok: true, thread: { id: 'th1' } as StartedThread, run: Promise.resolve() });
    await expect(job.run()).resolves.toBe('reflected on torn in th1 (1/2 today)');
    expect(started[0]).toMatchObject({ origin: { channelId: 'chan' }, name: 'Reflection: Torn task' });
    expect(started[0]?.task).toMatch(/final dissonance 0\.95[\s\S]*Torn task[\s\S]*What did we miss/);
  });

  it('asks the personas to reflect on where they disagreed', () => {
    expect(reflectionTask(record(Date.UTC(2026, 10, 30)))).toMatch(
      /on 2026-11-30 .*final dissonance 0\.90[\s\S]*Should we move to the coast\?[\s\S]*What did we miss/,
    );
  });
});
