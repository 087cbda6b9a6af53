import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createPostgresLeadership } from '../../../src/services/db/leadership.ts';
import { processOwner } from '../../../src/services/db/processOwner.ts';
import { createSilentLogger } from '../../../src/services/logger.ts';
import { createScheduler, LED_ELSEWHERE } from '../../../src/services/scheduler.ts';
import { ManualClock } from '../../support/clock.ts';
import { usePostgres } from '../../support/postgres.ts';

const postgres = usePostgres();

/** The connections open to the database at `url`, this check's own aside. */
async function connections(url: string): Promise<number> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ n: string }>(
      'SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
    );
    return Number(rows[0]?.n ?? 0);
  } finally {
    await admin.end();
  }
}

describe("a process's locks on PostgreSQL", () => {
  it('hold its name and its jobs on one connection; a stopped scheduler hands its jobs over while the name stays held', async () => {
    const url = await postgres.database();
    const clock = new ManualClock();
    const mine = createPostgresLeadership(url);
    const theirs = createPostgresLeadership(url);
    const owner = processOwner(mine);
    const scheduler = createScheduler({ logger: createSilentLogger(), clock, leadership: mine });
    const other = createScheduler({ logger: createSilentLogger(), clock, leadership: theirs });
    try {
      for (const one of [scheduler, other])
        one.add({ name: 'finetune', cron: '0 3 * * *', run: async () => 'done' });
      expect(await owner.claim()).toBe(true);
      await expect(scheduler.runNow('finetune')).resolves.toMatchObject({ outcome: 'ok' });
      await expect(other.runNow('finetune')).resolves.toMatchObject({ message: LED_ELSEWHERE });
      expect(await connections(url)).toBe(2);

      await scheduler.stop();
      // The job goes to the other process at its next tick; this one still lives, and says so.
      await expect(other.runNow('finetune')).resolves.toMatchObject({ outcome: 'ok' });
      expect(await processOwner(theirs).alive(owner.self)).toBe(true);
      await owner.close();
      expect(await processOwner(theirs).alive(owner.self)).toBe(false);
    } finally {
      await scheduler.stop();
      await other.stop();
      await owner.close();
      await theirs.close();
    }
  });
});
