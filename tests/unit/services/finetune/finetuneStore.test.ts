import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { createPostgresLeadership } from '../../../../src/services/db/leadership.ts';
import type { StoreLocation } from '../../../../src/services/db/openStoreDatabase.ts';
import { type ProcessOwner, processOwner } from '../../../../src/services/db/processOwner.ts';
import { ACTIVE_REFRESH_MS } from '../../../../src/services/finetune/activeModels.ts';
import { type FinetuneJob, FinetuneStore } from '../../../../src/services/finetune/finetuneStore.ts';
import { endInterruptedJob } from '../../../../src/services/finetune/jobLifecycle.ts';
import { createLogger, createSilentLogger } from '../../../../src/services/logger.ts';
import { flush, ManualClock, waitUntil } from '../../../support/clock.ts';
import { tempFolders } from '../../../support/fixtures.ts';
import { usePostgres, useStoreBackends } from '../../../support/postgres.ts';

const folders = tempFolders();
const opened: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const one of opened.splice(0).reverse()) await one.close();
  folders.cleanup();
});

const fields = (persona: string, at: number, owner?: string): Omit<FinetuneJob, 'id'> => ({
  persona,
  trigger: 'command',
  requestedBy: 'ada',
  state: 'running',
  stage: 'snapshot',
  base: 'unsloth/base',
  fromModel: 'robin:test',
  startedAt: at,
  updatedAt: at,
  losses: [],
  ...(owner ? { owner } : {}),
});

const version = {
  persona: 'ROBIN',
  version: 1,
  model: 'batos-robin-v1',
  base: 'unsloth/base',
  fromModel: 'robin:test',
  jobId: 'ft1',
  datasetHash: 'abc',
  samples: 10,
  createdAt: 2,
};

const evaluation = {
  prompts: 4,
  wins: 3,
  losses: 0,
  ties: 1,
  score: 0.875,
  lowerBound: 0.5,
  formatCandidate: 4,
  formatIncumbent: 4,
  rule: 'majority' as const,
  better: true,
  verdict: 'better',
};

async function openStore(location: StoreLocation, clock = new ManualClock()): Promise<FinetuneStore> {
  const store = await FinetuneStore.open(location, { clock });
  opened.push(store);
  return store;
}

describe.each(useStoreBackends())('the fine-tune store on $name', (backend) => {
  const place = () => backend.location(folders.folder());

  it('begins one job at a time, and the GPU lock survives a reopen', async () => {
    const location = await place();
    const store = await openStore(location);
    expect(await store.begin(fields('ROBIN', 1))).toMatchObject({ ok: true, job: { id: 'ft1' } });
    await store.close();

    const again = await openStore(location);
    expect(await again.begin(fields('BRICK', 2))).toMatchObject({ ok: false, running: { id: 'ft1' } });
    await again.update('ft1', () => ({ state: 'failed', stage: 'done' }), 3);
    expect(await again.running()).toBeUndefined();
    expect(await again.begin(fields('BRICK', 4))).toMatchObject({ ok: true, job: { id: 'ft2' } });
    expect((await again.list()).map((j) => j.id)).toEqual(['ft2', 'ft1']);
    expect((await again.list(20, 'ROBIN')).map((j) => [j.id, j.state, j.updatedAt])).toEqual([
      ['ft1', 'failed', 3],
    ]);
    await expect(again.update('ft9', () => ({}), 5)).rejects.toThrow('no fine-tune job ft9');
  });

  it('keeps every version with its evaluation, and flips the model in force with the job in one write', async () => {
    const store = await openStore(await place());
    const begun = await store.begin(fields('ROBIN', 1));
    if (!begun.ok) throw new Error('not begun');
    expect(await store.nextVersion('ROBIN')).toBe(1);
    await store.addVersion(version);
    await expect(store.addVersion(version)).rejects.toThrow();
    await store.setVersionEvaluation('ROBIN', 1, evaluation);
    expect(await store.versions('ROBIN')).toEqual([{ ...version, evaluation }]);
    expect(await store.nextVersion('ROBIN')).toBe(2);

    await store.activate(
      { persona: 'ROBIN', version: 1, model: 'batos-robin-v1', since: 3, by: 'system' },
      { id: 'ft1', change: { state: 'promoted', stage: 'done' }, at: 3 },
    );
    expect(await store.active('ROBIN')).toMatchObject({ version: 1, model: 'batos-robin-v1' });
    expect(store.activeNow('ROBIN')).toMatchObject({ version: 1, model: 'batos-robin-v1' });
    expect(await store.get('ft1')).toMatchObject({ state: 'promoted', updatedAt: 3 });
    expect(await store.active('BRICK')).toBeUndefined();
    // A swap whose job is gone changes nothing: the pointer and the job move together.
    await expect(
      store.activate(
        { persona: 'ROBIN', version: 2, model: 'batos-robin-v2', since: 4, by: 'system' },
        { id: 'ft7', change: { state: 'promoted' }, at: 4 },
      ),
    ).rejects.toThrow('no fine-tune job ft7');
    expect(await store.active('ROBIN')).toMatchObject({ version: 1 });
    expect(store.activeNow('ROBIN')).toMatchObject({ version: 1 });
  });

  it('makes one job of two handles (two processes) asking at once', async () => {
    const location = await place();
    const [one, two] = [await openStore(location), await openStore(location)];
    const asked = await Promise.all(
      Array.from({ length: 6 }, (_, i) => (i % 2 ? one : two).begin(fields('ROBIN', i))),
    );
    expect(asked.filter((answer) => answer.ok)).toHaveLength(1);
    expect((await one.list()).map((j) => j.id)).toEqual(['ft1']);
  });

  it('loses no change when two handles change one job at once', async () => {
    const location = await place();
    const [one, two] = [await openStore(location), await openStore(location)];
    await one.begin(fields('ROBIN', 1));
    // Each reads the job and adds to it: without the lock one of them would write over the other.
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        (i % 2 ? one : two).update('ft1', (job) => ({ losses: [...job.losses, [i, i]] }), i),
      ),
    );
    expect((await one.get('ft1'))?.losses).toHaveLength(10);
  });

  it('shows a swap by one handle in another’s model in force once its view is older than the refresh interval', async () => {
    const clock = new ManualClock();
    const location = await place();
    const leader = await openStore(location, clock);
    const shard = await openStore(location, clock);
    expect(shard.activeNow('ROBIN')).toBeUndefined();

    await leader.activate({ persona: 'ROBIN', version: 1, model: 'batos-robin-v1', since: 1, by: 'system' });
    // The process that swapped sees it at once; the other reads its view, not the database.
    expect(leader.activeNow('ROBIN')).toMatchObject({ version: 1 });
    await clock.advance(ACTIVE_REFRESH_MS - 1);
    expect(shard.activeNow('ROBIN')).toBeUndefined();
    await flush();
    expect(shard.activeNow('ROBIN')).toBeUndefined();

    await clock.advance(1);
    // This read starts the refresh and does not wait for it; a later one has the swap.
    expect(shard.activeNow('ROBIN')).toBeUndefined();
    await waitUntil(() => shard.activeNow('ROBIN')?.version === 1);
    expect(shard.activeNow('ROBIN')).toMatchObject({ model: 'batos-robin-v1' });
  });
});

describe('a fine-tune file written before migrations', () => {
  it('reads unchanged, and numbers the next job after every job it ever had', async () => {
    const dataDir = folders.folder();
    const old = new Database(join(dataDir, 'finetune.sqlite'));
    old.exec(`
      CREATE TABLE jobs (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, persona TEXT NOT NULL, state TEXT NOT NULL, data TEXT NOT NULL);
      CREATE TABLE versions (persona TEXT NOT NULL, version INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (persona, version));
      CREATE TABLE active (persona TEXT PRIMARY KEY, data TEXT NOT NULL);
    `);
    for (const n of [1, 2, 3]) {
      const job = { ...fields('ROBIN', n), id: `ft${n}`, state: 'kept' };
      old
        .prepare('INSERT INTO jobs (id, persona, state, data) VALUES (?, ?, ?, ?)')
        .run(job.id, job.persona, job.state, JSON.stringify(job));
    }
    old.prepare('DELETE FROM jobs WHERE id = ?').run('ft3');
    old
      .prepare('INSERT INTO active (persona, data) VALUES (?, ?)')
      .run(
        'ROBIN',
        JSON.stringify({ persona: 'ROBIN', version: 1, model: 'batos-robin-v1', since: 1, by: 'a' }),
      );
    old.close();

    const store = await openStore({ dataDir });
    expect(store.activeNow('ROBIN')).toMatchObject({ version: 1, model: 'batos-robin-v1' });
    expect((await store.list()).map((j) => j.id)).toEqual(['ft2', 'ft1']);
    // ft3's folder may still be on disk: its number is never given again.
    expect(await store.begin(fields('BRICK', 4))).toMatchObject({ ok: true, job: { id: 'ft4' } });
  });
});

describe('a job left running by a process that died, with PostgreSQL', () => {
  const postgres = usePostgres();
  const logger = createSilentLogger();

  it('is left alone while its process lives, and ended as failed once it is gone', async () => {
    const location: StoreLocation = { dataDir: folders.folder(), databaseUrl: await postgres.database() };
    const url = location.databaseUrl as string;
    const owners = (): ProcessOwner => {
      const made = processOwner(createPostgresLeadership(url));
      opened.push(made);
      return made;
    };
    const [first, second] = [owners(), owners()];
    const store = await openStore(location);
    expect(await first.claim()).toBe(true);
    const begun = await store.begin(fields('ROBIN', 1, first.self));
    if (!begun.ok) throw new Error('not begun');

    const clock = new ManualClock();
    const repair = { store, owners: second, dataDir: location.dataDir, clock, log: logger };
    // Another process starting (or asked for a job) must not end a job a live process runs.
    expect(await second.alive(first.self)).toBe(true);
    expect(await endInterruptedJob(repair)).toBe(false);
    expect(await store.running()).toMatchObject({ id: 'ft1', state: 'running' });

    // The first process dies: its connection, and the lock with it, are gone.
    await first.close();
    expect(await endInterruptedJob(repair)).toBe(true);
    expect(await store.get('ft1')).toMatchObject({
      state: 'failed',
      error: 'the bot stopped in the middle of the job',
    });
    expect(await store.begin(fields('BRICK', 2, second.self))).toMatchObject({
      ok: true,
      job: { id: 'ft2' },
    });
  });
});

describe('a job left running, with one process (SQLite)', () => {
  it('is ended, and said to be, once when two repairs saw it running', async () => {
    const dataDir = folders.folder();
    const store = await openStore({ dataDir });
    const begun = await store.begin(fields('ROBIN', 1, 'a process that died'));
    if (!begun.ok) throw new Error('not begun');
    const lines: string[] = [];
    const log = createLogger({
      level: 'warn',
      format: 'json',
      destination: { write: (line) => lines.push(line) },
    });
    const repair = { store, owners: processOwner(), dataDir, clock: new ManualClock(), log };
    const stuck = await store.running();
    // Two processes read it running; each ends it when it can.
    expect(await endInterruptedJob(repair, stuck)).toBe(true);
    expect(await endInterruptedJob(repair, stuck)).toBe(true);
    expect(await store.get('ft1')).toMatchObject({ state: 'failed' });
    expect(lines.filter((line) => line.includes('interrupted by a restart'))).toHaveLength(1);
  });

  it('belongs to a process that died unless this very process began it', async () => {
    const owners = processOwner();
    expect(await owners.claim()).toBe(true);
    expect(await owners.alive(owners.self)).toBe(true);
    expect(await owners.alive('another')).toBe(false);
    expect(await owners.alive(undefined)).toBe(false);
  });
});
