import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { systemClock } from '../../../src/services/clock.ts';
import type { Leadership } from '../../../src/services/db/leadership.ts';
import { createLogger, createSilentLogger } from '../../../src/services/logger.ts';
import { createScheduler, LED_ELSEWHERE, type Scheduler } from '../../../src/services/scheduler.ts';
import { ManualClock } from '../../support/clock.ts';

const clock = new ManualClock();

let scheduler: Scheduler | undefined;
afterEach(async () => {
  await scheduler?.stop();
  scheduler = undefined;
});

/** A logger whose records can be read back. */
function recordingLogger() {
  const records: Array<{ level: number; msg: string; job?: string }> = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      records.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { logger: createLogger({ level: 'debug', destination }), records };
}

/**
 * Job locks as PostgreSQL's advisory locks behave for the scheduler: the first process to ask for
 * a job holds it until it lets go (a clean stop, or its connection dying with it).
 */
class InMemoryJobLocks {
  private readonly holders = new Map<string, string>();

  for(processName: string): Leadership {
    return {
      leads: async (job) => {
        if (!this.holders.has(job)) this.holders.set(job, processName);
        return this.holders.get(job) === processName;
      },
      release: async (job) => {
        if (this.holders.get(job) === processName) this.holders.delete(job);
      },
      close: async () => {
        for (const [job, holder] of this.holders) if (holder === processName) this.holders.delete(job);
      },
    };
  }
}

describe('the scheduler', () => {
  it('refuses a bad cron expression with the setting and the field', () => {
    scheduler = createScheduler({ logger: createSilentLogger(), clock });
    expect(() =>
      scheduler?.add({ name: 'x', cron: '0 25 * * *', setting: 'AUTONOMY_CRON', run: async () => 'ok' }),
    ).toThrowError(/AUTONOMY_CRON: "0 25 \* \* \*" is not a valid cron expression \(hour "25"/);
  });

  it('never overlaps a job with itself', async () => {
    scheduler = createScheduler({ logger: createSilentLogger(), clock });
    let release!: () => void;
    let runs = 0;
    scheduler.add({
      name: 'slow',
      cron: '0 0 1 1 *',
      async run() {
        runs++;
        await new Promise<void>((resolve) => {
          release = resolve;
        });
        return 'finished';
      },
    });
    const first = scheduler.runNow('slow');
    await expect(scheduler.runNow('slow')).resolves.toMatchObject({
      outcome: 'skipped',
      message: 'the previous run is still going',
    });
    expect(scheduler.status()[0]?.running).toBe(true);
    release();
    await expect(first).resolves.toMatchObject({ outcome: 'ok', message: 'finished' });
    expect(runs).toBe(1);
  });

  it('skips autonomous jobs while autonomy is paused, and records failures', async () => {
    let paused: string | null = 'proposal p1 awaits';
    scheduler = createScheduler({ logger: createSilentLogger(), clock, autonomyPaused: () => paused });
    scheduler.add({ name: 'curation', cron: '0 0 1 1 *', autonomous: true, run: async () => 'curated' });
    scheduler.add({
      name: 'broken',
      cron: '0 0 1 1 *',
      run: async () => {
        throw new Error('disk full');
      },
    });
    await expect(scheduler.runNow('curation')).resolves.toMatchObject({
      outcome: 'skipped',
      message: 'autonomy is paused: proposal p1 awaits',
    });
    paused = null;
    await expect(scheduler.runNow('curation')).resolves.toMatchObject({ outcome: 'ok', message: 'curated' });
    await expect(scheduler.runNow('broken')).resolves.toMatchObject({
      outcome: 'error',
      message: 'disk full',
    });
    const status = scheduler.status();
    expect(status.map((job) => [job.name, job.lastRun?.outcome])).toEqual([
      ['curation', 'ok'],
      ['broken', 'error'],
    ]);
    expect(status[0]?.nextRun).toBeGreaterThan(Date.now());
  });

  it('asks a store that answers later, runs once for two ticks that asked together, and skips when it cannot ask', async () => {
    let answer: Promise<string | null> = Promise.resolve(null);
    scheduler = createScheduler({ logger: createSilentLogger(), clock, autonomyPaused: () => answer });
    let runs = 0;
    scheduler.add({
      name: 'curation',
      cron: '0 0 1 1 *',
      autonomous: true,
      run: async () => `run ${++runs}`,
    });
    const [one, two] = await Promise.all([scheduler.runNow('curation'), scheduler.runNow('curation')]);
    expect([one.outcome, two.outcome].sort()).toEqual(['ok', 'skipped']);
    expect(runs).toBe(1);
    answer = Promise.reject(new Error('the database is away'));
    await expect(scheduler.runNow('curation')).resolves.toMatchObject({
      outcome: 'skipped',
      message: 'autonomy could not be checked: the database is away',
    });
    expect(runs).toBe(1);
  });

  it('runs a job when its time comes, with no wall-clock wait', async () => {
    // node-cron fires on the system's timers: vitest's fake timers move them (and Date) at will.
    vi.useFakeTimers({ now: Date.UTC(2026, 10, 30, 23, 58, 30) });
    try {
      scheduler = createScheduler({ logger: createSilentLogger(), clock: systemClock });
      let ticks = 0;
      scheduler.add({ name: 'minutely', cron: '* * * * *', run: async () => `tick ${++ticks}` });
      expect(scheduler.status()[0]?.nextRun).toBe(Date.UTC(2026, 10, 30, 23, 59, 0));
      await vi.advanceTimersByTimeAsync(20_000);
      expect(ticks).toBe(0);
      // Past the minute, and past midnight into the next month.
      await vi.advanceTimersByTimeAsync(70_000);
      expect(ticks).toBe(2);
      expect(scheduler.status()[0]?.lastRun).toMatchObject({
        outcome: 'ok',
        message: 'tick 2',
        startedAt: Date.UTC(2026, 11, 1, 0, 0, 0),
      });
    } finally {
      await scheduler?.stop();
      scheduler = undefined;
      vi.useRealTimers();
    }
  });

  it("tells each scheduler's own log of its jobs' missed runs when two schedulers run in one process", async () => {
    vi.useFakeTimers({ now: Date.UTC(2026, 0, 1, 0, 0, 30) });
    const first = recordingLogger();
    const second = recordingLogger();
    const schedulers = [
      createScheduler({ logger: first.logger, clock: systemClock }),
      createScheduler({ logger: second.logger, clock: systemClock }),
    ];
    try {
      schedulers[0]?.add({ name: 'alpha', cron: '* * * * *', run: async () => 'ok' });
      schedulers[1]?.add({ name: 'beta', cron: '* * * * *', run: async () => 'ok' });
      // The process stalls for five minutes: the clock moves on, no timer fires meanwhile.
      vi.setSystemTime(Date.UTC(2026, 0, 1, 0, 5, 30));
      await vi.advanceTimersByTimeAsync(31_000);
      const missed = (records: typeof first.records) =>
        records.filter((r) => r.msg.startsWith('missed execution')).map((r) => r.job);
      // node-cron's logger is global: were it set per scheduler, the second would take both jobs' notices.
      expect(missed(first.records)).toEqual(['alpha', 'alpha', 'alpha', 'alpha', 'alpha']);
      expect(missed(second.records)).toEqual(['beta', 'beta', 'beta', 'beta', 'beta']);
    } finally {
      for (const scheduler of schedulers) await scheduler.stop();
      vi.useRealTimers();
    }
  });

  it('runs a shared job in the one process that leads it; the others record who runs it', async () => {
    const locks = new InMemoryJobLocks();
    const runs: string[] = [];
    const processes = ['shard-0', 'shard-1'].map((name) => {
      const leadership = locks.for(name);
      const one = createScheduler({ logger: createSilentLogger(), clock, leadership });
      one.add({ name: 'curation', cron: '0 * * * *', run: async () => `curated by ${name}` });
      one.add({
        name: 'index-snapshot',
        cron: '0 * * * *',
        everyProcess: true,
        run: async () => {
          runs.push(name);
          return 'saved';
        },
      });
      return { one, leadership };
    });
    try {
      const [first, second] = processes;
      // Both ticks at once, as two processes on one cron expression do.
      const [a, b] = await Promise.all([first?.one.runNow('curation'), second?.one.runNow('curation')]);
      expect(a).toMatchObject({ outcome: 'ok', message: 'curated by shard-0' });
      expect(b).toMatchObject({ outcome: 'skipped', message: LED_ELSEWHERE });
      expect(first?.one.status()[0]).toMatchObject({ ledElsewhere: false, lastRun: { outcome: 'ok' } });
      expect(second?.one.status()[0]).toMatchObject({ ledElsewhere: true });
      // A per-process job runs in each.
      await Promise.all([first?.one.runNow('index-snapshot'), second?.one.runNow('index-snapshot')]);
      expect(runs.sort()).toEqual(['shard-0', 'shard-1']);
    } finally {
      for (const { one } of processes) await one.stop();
    }
  });

  it('hands a job over when its leader stops, and says so in the log', async () => {
    const locks = new InMemoryJobLocks();
    const leader = locks.for('shard-0');
    const follower = recordingLogger();
    const first = createScheduler({ logger: createSilentLogger(), clock, leadership: leader });
    const second = createScheduler({ logger: follower.logger, clock, leadership: locks.for('shard-1') });
    try {
      for (const one of [first, second])
        one.add({ name: 'finetune', cron: '0 3 * * *', run: async () => 'done' });
      await first.runNow('finetune');
      await expect(second.runNow('finetune')).resolves.toMatchObject({ message: LED_ELSEWHERE });
      await expect(second.runNow('finetune')).resolves.toMatchObject({ message: LED_ELSEWHERE });
      // The leader stops and lets go (one that dies loses its connection, and the lock with it):
      // the next tick elsewhere takes the job.
      await first.stop();
      await expect(second.runNow('finetune')).resolves.toMatchObject({ outcome: 'ok', message: 'done' });
      expect(second.status()[0]?.ledElsewhere).toBe(false);
      const said = follower.records.filter((r) => r.job === 'finetune').map((r) => r.msg);
      // Once per change, not once per tick.
      expect(said).toEqual(['job scheduled', 'another process runs the job', 'this process runs the job']);
    } finally {
      await first.stop();
      await second.stop();
    }
  });
});
