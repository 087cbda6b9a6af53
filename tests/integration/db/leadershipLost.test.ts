import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { createPostgresLeadership } from '../../../src/services/db/leadership.ts';
import { type ProcessOwner, processOwner } from '../../../src/services/db/processOwner.ts';
import { usePostgres } from '../../support/postgres.ts';

const owners: ProcessOwner[] = [];
afterEach(async () => {
  for (const owner of owners.splice(0)) await owner.close();
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
