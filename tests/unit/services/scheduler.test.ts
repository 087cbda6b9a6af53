import { afterEach, describe, expect, it } from 'vitest';
import { createSilentLogger } from '../../../src/services/logger.ts';
import { createScheduler, type Scheduler } from '../../../src/services/scheduler.ts';

let scheduler: Scheduler | undefined;
afterEach(async () => {
  await scheduler?.stop();
  scheduler = undefined;
});

describe('the scheduler', () => {
  it('refuses a bad cron expression with the setting and the field', () => {
    scheduler = createScheduler({ logger: createSilentLogger() });
    expect(() =>
      scheduler?.add({ name: 'x', cron: '0 25 * * *', setting: 'AUTONOMY_CRON', run: async () => 'ok' }),
    ).toThrowError(/AUTONOMY_CRON: "0 25 \* \* \*" is not a valid cron expression \(hour "25"/);
  });

  it('never overlaps a job with itself', async () => {
    scheduler = createScheduler({ logger: createSilentLogger() });
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
    scheduler = createScheduler({ logger: createSilentLogger(), autonomyPaused: () => paused });
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

  it('runs a job on its schedule', async () => {
    scheduler = createScheduler({ logger: createSilentLogger() });
    let ticks = 0;
    scheduler.add({ name: 'often', cron: '* * * * * *', run: async () => `tick ${++ticks}` });
    await new Promise((resolve) => setTimeout(resolve, 2200));
    expect(ticks).toBeGreaterThanOrEqual(1);
    expect(scheduler.status()[0]?.lastRun?.message).toMatch(/tick \d/);
  });
});
