import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseCodex } from '../../../src/services/codex/loadCodex.ts';
import type { StoreLocation } from '../../../src/services/db/openStoreDatabase.ts';
import { newProposalRecord } from '../../../src/services/governance/proposalStateMachine.ts';
import { type Proposal, ProposalStore } from '../../../src/services/governance/proposalStore.ts';
import { openDatabase } from '../../../src/services/sqlite.ts';
import { amendmentsWithoutModel } from '../../support/amendmentsWithoutModel.ts';
import { REAL_CODEX_PATH, tempFolders } from '../../support/fixtures.ts';
import { useStoreBackends } from '../../support/postgres.ts';

/**
 * The proposal store on both backends: what one process writes, a restart (or another process)
 * reads; and what two processes sharing the database do at once — start a proposal, change one,
 * complete an approval — ends as if they had taken turns.
 */

const folders = tempFolders();
const opened: ProposalStore[] = [];
afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
  folders.cleanup();
});

const codex = parseCodex(readFileSync(REAL_CODEX_PATH, 'utf8'), REAL_CODEX_PATH);

/** A proposal as a trigger starts it, with `fields` over it. */
const record = (id: string, fields: Partial<Proposal> = {}): Proposal => ({
  ...newProposalRecord({ kind: 'amendment', requestedBy: 'system' }, { id, codex, at: 1_765_000_000_000 }),
  ...fields,
});

describe.each(useStoreBackends())('the proposal store on $name', (backend) => {
  const open = async (location: StoreLocation) => {
    const store = await ProposalStore.open(location);
    opened.push(store);
    return store;
  };
  /** Two handles on one place: two processes sharing the database. */
  const twoProcesses = async () => {
    const location = await backend.location(folders.folder());
    return [await open(location), await open(location)] as const;
  };

  it('reads back after a restart what it wrote: proposals newest first, the active one, the versions', async () => {
    const location = await backend.location(folders.folder());
    const store = await open(location);
    const first = await store.createUnlessActive((id) => record(id, { evidence: ['r1', 'r2'] }));
    expect(first).toMatchObject({ ok: true, proposal: { id: 'p1' } });
    await store.update('p1', () => ({ state: 'rejected', decidedBy: 'arch' }), 1_765_000_000_500);
    await store.create(record('p2', { state: 'pending', evidence: ['r3'], title: 'It’s “quoted”' }));
    await store.addVersion({ version: 1, hash: codex.hash, at: 1_765_000_000_000 });
    await store.addVersion({
      version: 2,
      hash: 'h2',
      proposalId: 'p9',
      approvedBy: 'arch',
      at: 2,
      archivedPrevious: '/a',
    });
    await store.close();

    const again = await open(location);
    expect(await again.get('p1')).toMatchObject({
      state: 'rejected',
      decidedBy: 'arch',
      updatedAt: 1_765_000_000_500,
    });
    expect((await again.list()).map((p) => p.id)).toEqual(['p2', 'p1']);
    expect((await again.list(1)).map((p) => p.id)).toEqual(['p2']);
    expect((await again.list(-1)).map((p) => p.id)).toEqual(['p2', 'p1']);
    expect(await again.active()).toMatchObject({ id: 'p2', title: 'It’s “quoted”' });
    expect(await again.nextId()).toBe('p3');
    expect(await again.answered()).toEqual(new Set(['r1', 'r2', 'r3']));
    expect((await again.citing(new Set(['r3', 'none']))).map((p) => p.id)).toEqual(['p2']);
    expect(await again.versions()).toEqual([
      { version: 1, hash: codex.hash, at: 1_765_000_000_000 },
      { version: 2, hash: 'h2', proposalId: 'p9', approvedBy: 'arch', at: 2, archivedPrevious: '/a' },
    ]);
    // A change of nothing (a refusal under the lock) writes nothing.
    expect(await again.update('p2', () => ({}), 9)).toMatchObject({ updatedAt: 1_765_000_000_000 });
    expect(await again.get('p7')).toBeUndefined();
    await expect(again.update('p7', () => ({}), 1)).rejects.toThrow('no proposal p7');
  });

  it('starts at most one active proposal when two processes start one at once', async () => {
    const [one, two] = await twoProcesses();
    const starts = await Promise.all(
      [one, two, one, two, one, two].map((store, n) =>
        store.createUnlessActive((id) => record(id, { requestedBy: `trigger ${n}` })),
      ),
    );
    expect(starts.filter((s) => s.ok)).toHaveLength(1);
    const started = starts.find((s) => s.ok)?.proposal;
    for (const refused of starts.filter((s) => !s.ok))
      expect(refused).toMatchObject({ active: { id: started?.id } });
    expect(await one.list()).toHaveLength(1);
    // Once it is decided, the next start gets the next id.
    await two.update('p1', () => ({ state: 'abandoned' }), 2);
    expect(await one.createUnlessActive((id) => record(id))).toMatchObject({
      ok: true,
      proposal: { id: 'p2' },
    });
  });

  it('loses no change when two processes change one proposal at once', async () => {
    const [one, two] = await twoProcesses();
    await one.create(record('p1', { state: 'pending' }));
    const architects = ['a', 'b', 'c', 'd', 'e', 'f'];
    await Promise.all(
      architects.map((userId, n) =>
        (n % 2 ? two : one).update('p1', (p) => ({ openedBy: [...p.openedBy, userId] }), n),
      ),
    );
    expect((await one.get('p1'))?.openedBy.sort()).toEqual(architects);
  });

  it('completes an approval once, with its version, when two processes complete it at once', async () => {
    const [one, two] = await twoProcesses();
    const intent = { version: 2, hash: 'h2', by: 'arch', at: 5 };
    await one.create(record('p1', { state: 'pending', approving: intent }));
    const version = { version: 2, hash: 'h2', proposalId: 'p1', approvedBy: 'arch', at: 5 };
    const [a, b] = await Promise.all([
      one.completeApproval('p1', version),
      two.completeApproval('p1', version),
    ]);
    for (const approved of [a, b])
      expect(approved).toMatchObject({ state: 'approved', newVersion: 2, decidedBy: 'arch' });
    expect(a.approving).toBeUndefined();
    expect(await two.versions()).toEqual([version]);
  });

  it('never overwrites a recorded version: its first approver stays', async () => {
    const [store] = await twoProcesses();
    await store.addVersion({ version: 2, hash: 'a', approvedBy: 'first', at: 1 });
    await expect(store.addVersion({ version: 2, hash: 'b', approvedBy: 'second', at: 2 })).rejects.toThrow(
      /UNIQUE|duplicate key/,
    );
    // Nor does an approval that would record it again: it is undone whole.
    await store.create(record('p1', { state: 'pending' }));
    await expect(
      store.completeApproval('p1', { version: 2, hash: 'c', proposalId: 'p1', approvedBy: 'third', at: 3 }),
    ).rejects.toThrow(/UNIQUE|duplicate key/);
    expect(await store.get('p1')).toMatchObject({ state: 'pending' });
    expect(await store.versions()).toEqual([{ version: 2, hash: 'a', approvedBy: 'first', at: 1 }]);
  });

  it('ratifies once when two processes approve the same proposal at once', async () => {
    const folder = folders.folder();
    const codexPath = join(folder, 'codex.toml');
    copyFileSync(REAL_CODEX_PATH, codexPath);
    const location = await backend.location(folder);
    // Two processes over one database and one codex file, each with the codex in force it read.
    const processes = await Promise.all(
      [0, 1].map(async () => amendmentsWithoutModel(await open(location), codexPath, folder)),
    );
    const [first] = processes;
    if (!first) throw new Error('not started');
    const amended = codex.source.replace(
      'Disagree kindly, and say',
      'Disagree kindly, weigh the cost, and say',
    );
    await first.store.create(record('p1', { state: 'pending', newCodex: amended, openedBy: ['arch'] }));

    const decisions = await Promise.all(processes.map(({ amendments }) => amendments.approve('p1', 'arch')));

    expect(decisions.filter((d) => d.ok)).toHaveLength(1);
    expect(decisions.find((d) => !d.ok)).toMatchObject({ code: 'ALREADY_DECIDED' });
    expect((await first.store.versions()).map((v) => v.version)).toEqual([1, 2]);
    expect(await first.store.get('p1')).toMatchObject({ state: 'approved', newVersion: 2 });
    expect(readFileSync(codexPath, 'utf8')).toMatch(/^version = 2$/m);
  });

  it.runIf(backend.name === 'sqlite')(
    'reads a governance.sqlite written before migrations unchanged',
    async () => {
      const dataDir = folders.folder();
      const old = openDatabase(dataDir, 'governance.sqlite');
      old.exec(`
      CREATE TABLE proposals (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, state TEXT NOT NULL, data TEXT NOT NULL);
      CREATE INDEX proposals_state ON proposals (state);
      CREATE TABLE codex_versions (version INTEGER PRIMARY KEY, hash TEXT NOT NULL, proposal_id TEXT, approved_by TEXT, at INTEGER NOT NULL, archived_previous TEXT);
    `);
      const pending = record('p1', { state: 'pending' });
      old
        .prepare('INSERT INTO proposals (id, state, data) VALUES (?, ?, ?)')
        .run('p1', 'pending', JSON.stringify(pending));
      old.prepare('INSERT INTO codex_versions (version, hash, at) VALUES (?, ?, ?)').run(1, codex.hash, 7);
      old.close();

      const store = await open({ dataDir });
      expect(await store.get('p1')).toEqual(pending);
      expect(await store.active()).toEqual(pending);
      expect(await store.versions()).toEqual([{ version: 1, hash: codex.hash, at: 7 }]);
      expect(await store.nextId()).toBe('p2');
    },
  );
});
