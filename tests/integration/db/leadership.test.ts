import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { composeScheduler, processLeadership } from '../../../src/app/wiring/jobs.ts';
import { createPostgresLeadership } from '../../../src/services/db/leadership.ts';
import { type ProcessOwner, processOwner } from '../../../src/services/db/processOwner.ts';
import { createSilentLogger } from '../../../src/services/logger.ts';
import { ManualClock } from '../../support/clock.ts';
import { usePostgres } from '../../support/postgres.ts';

const logger = createSilentLogger();
const owners: ProcessOwner[] = [];
afterEach(async () => {
  for (const owner of owners.splice(0)) await owner.close();
});

/** The sessions of this database that hold an advisory lock. */
async function lockHolders(url: string): Promise<number> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ n: string }>(
      `SELECT COUNT(DISTINCT pid) AS n FROM pg_locks WHERE locktype = 'advisory'
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    );
    return Number(rows[0]?.n);
  } finally {
    await admin.end();
  }
}

describe('one process’s leadership, with PostgreSQL', () => {
  const postgres = usePostgres();

  it('holds the jobs’ locks and the one that shows it lives on one connection, kept until the owner closes', async () => {
    const url = await postgres.database();
    const leadership = processLeadership({ databaseUrl: url }, logger);
    const owner = processOwner(leadership);
    owners.push(owner);
    const scheduler = composeScheduler(logger, new ManualClock(), {
      amendments: { pausedReason: async () => null },
      metrics: { jobRun: () => {} },
      leadership,
    });
    expect(await owner.claim()).toBe(true);
    expect(await leadership.leads('curation')).toBe(true);
    expect(await lockHolders(url)).toBe(1);

    const other = processOwner(createPostgresLeadership(url));
    owners.push(other);
    // The scheduler stops first as the runtime closes; a fine-tune may still be stopping after it.
    await scheduler.stop();
    expect(await other.alive(owner.self)).toBe(true);
    await owner.close();
    expect(await other.alive(owner.self)).toBe(false);
  });
});

describe('a leadership whose lock query fails on a live connection', () => {
  const postgres = usePostgres();

  it('closes that connection, so the locks it forgets are free again', async () => {
    const url = await postgres.database();
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    const role = `leader_${new URL(url).pathname.slice(1)}`;
    try {
      await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD 'pw'`);
      const asRole = new URL(url);
      asRole.username = role;
      asRole.password = 'pw';
      const leadership = createPostgresLeadership(asRole.toString());
      owners.push(processOwner(leadership));
      expect(await leadership.leads('curation')).toBe(true);
      // The query fails (refused), the connection lives on.
      await admin.query(`REVOKE EXECUTE ON FUNCTION pg_try_advisory_lock(bigint) FROM PUBLIC`);
      expect(await leadership.leads('finetune')).toBe(false);
      await admin.query(`GRANT EXECUTE ON FUNCTION pg_try_advisory_lock(bigint) TO PUBLIC`);
      expect(await leadership.leads('curation')).toBe(true);
    } finally {
      await admin.end();
    }
  });
});
