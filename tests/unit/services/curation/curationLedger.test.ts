import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CurationLedger,
  LEASE_TTL_MS,
  type StoredVerdict,
} from '../../../../src/services/curation/curationLedger.ts';
import type { StoreLocation } from '../../../../src/services/db/openStoreDatabase.ts';
import { tempFolders } from '../../../support/fixtures.ts';
import { useStoreBackends } from '../../../support/postgres.ts';

const folders = tempFolders();
const opened: CurationLedger[] = [];
afterEach(async () => {
  for (const ledger of opened.splice(0)) await ledger.close();
  folders.cleanup();
});

async function open(location: StoreLocation): Promise<CurationLedger> {
  const ledger = await CurationLedger.open(location);
  opened.push(ledger);
  return ledger;
}

// Past 2^31: a time in milliseconds must come back whole.
const AT = 1_765_000_000_123;

const verdict = (interactionId: string, persona: string, total: number | null, seq = 1): StoredVerdict => ({
  interactionId,
  seq,
  persona,
  status: total === null ? 'invalid' : 'judged',
  total,
  scores:
    total === null
      ? null
      : {
          principles: 1,
          reasoning: 1,
          answers_task: total > 2 ? 1 : 0,
          format: 1,
          no_harm: total > 4 ? 1 : 0,
        },
  reason: total === null ? 'no JSON' : `worth ${total}`,
  rubricVersion: 'c1-000000000000',
  judge: 'ALFRED',
  judgeModel: 'judge:latest',
  kept: (total ?? 0) >= 4,
  judgedAt: AT,
});

describe.each(useStoreBackends())('the curation ledger on $name', (backend) => {
  const place = () => backend.location(folders.folder());

  it('moves its cursor only forward, and counts a dialogue’s failures in a row until it moves', async () => {
    const ledger = await open(await place());
    expect(await ledger.cursor()).toBe(0);
    await ledger.advance(5);
    await ledger.advance(3);
    expect(await ledger.cursor()).toBe(5);
    expect(await ledger.noteFailure(6)).toBe(1);
    expect(await ledger.noteFailure(6)).toBe(2);
    expect(await ledger.noteFailure(7)).toBe(1);
    await ledger.advance(7);
    expect(await ledger.noteFailure(8)).toBe(1);
  });

  it('keeps a verdict per persona and dialogue, the last one stored, and spreads them by total', async () => {
    const ledger = await open(await place());
    expect(await ledger.putVerdict(verdict('i1', 'BRICK', 3))).toBe(true);
    expect(await ledger.putVerdict(verdict('i1', 'BRICK', 5))).toBe(true);
    await ledger.putVerdict(verdict('i1', 'ROBIN', null));
    await ledger.putVerdict(verdict('i2', 'BRICK', 5, 2));
    const stored = (await ledger.verdictsOf('i1')).sort((a, b) => a.persona.localeCompare(b.persona));
    expect(stored).toEqual([verdict('i1', 'BRICK', 5), verdict('i1', 'ROBIN', null)]);
    expect(await ledger.histogram('BRICK')).toEqual([{ status: 'judged', total: 5, count: 2 }]);
    expect(await ledger.histogram('ROBIN')).toEqual([{ status: 'invalid', total: null, count: 1 }]);
  });

  it('forgets a dialogue: its verdicts go, a late verdict is refused, and the forget waits to be applied', async () => {
    const ledger = await open(await place());
    await ledger.putVerdict(verdict('i1', 'BRICK', 5));
    await ledger.forget(['i1', 'i2'], AT);
    expect(await ledger.verdictsOf('i1')).toEqual([]);
    expect(await ledger.isForgotten('i1')).toBe(true);
    expect(await ledger.isForgotten('i3')).toBe(false);
    expect(await ledger.putVerdict(verdict('i2', 'BRICK', 5))).toBe(false);
    expect((await ledger.unappliedForgets()).sort()).toEqual(['i1', 'i2']);
    await ledger.markForgetsApplied(['i1', 'i2']);
    expect(await ledger.unappliedForgets()).toEqual([]);
    // Forgotten again (a second /memory forget): to be applied again.
    await ledger.forget(['i1'], AT + 1);
    expect(await ledger.unappliedForgets()).toEqual(['i1']);
  });

  it('counts a member’s samples per day, and remembers when a member was forgotten', async () => {
    const ledger = await open(await place());
    await ledger.countMemberSamples('ada', '2026-11-30', 2);
    await ledger.countMemberSamples('ada', '2026-11-30', 3);
    await ledger.countMemberSamples('ada', '2026-12-01', 0);
    expect(await ledger.memberAdded('ada', '2026-11-30')).toBe(5);
    expect(await ledger.memberAdded('ada', '2026-12-01')).toBe(0);
    expect(await ledger.memberForgottenAt('ada')).toBeUndefined();
    await ledger.forgetMember('ada', AT);
    await ledger.forgetMember('bob', AT);
    expect(await ledger.memberForgottenAt('ada')).toBe(AT);
    await ledger.markMemberForgetsApplied(['bob']);
    expect(await ledger.unappliedMemberForgets()).toEqual(['ada']);
    await ledger.forgetMember('bob', AT + 5);
    expect(await ledger.memberForgottenAt('bob')).toBe(AT + 5);
    expect((await ledger.unappliedMemberForgets()).sort()).toEqual(['ada', 'bob']);
  });

  it('reads after a restart what was written before it', async () => {
    const location = await place();
    const first = await open(location);
    await first.advance(9);
    await first.putVerdict(verdict('i1', 'BRICK', 4, 9));
    await first.forgetMember('ada', AT);
    await first.close();
    const again = await open(location);
    expect(await again.cursor()).toBe(9);
    expect(await again.verdictsOf('i1')).toEqual([verdict('i1', 'BRICK', 4, 9)]);
    expect(await again.memberForgottenAt('ada')).toBe(AT);
  });

  it('gives the lease to one token at a time, to its holder again, and to anyone once released', async () => {
    const ledger = await open(await place());
    expect(await ledger.acquireLease('a', AT)).toEqual({ ok: true });
    expect(await ledger.acquireLease('a', AT + 1)).toEqual({ ok: true });
    expect(await ledger.renewLease('a', AT + 2)).toBe(true);
    expect(await ledger.renewLease('b', AT + 2)).toBe(false);
    await ledger.releaseLease('b');
    expect(await ledger.renewLease('a', AT + 3)).toBe(true);
    await ledger.releaseLease('a');
    expect(await ledger.renewLease('a', AT + 4)).toBe(false);
    expect(await ledger.acquireLease('b', AT + 4)).toEqual({ ok: true });
  });

  if (backend.name === 'postgres') {
    it('keeps a second process out while the lease lives, whoever races for it, and lets it in once it lapsed', async () => {
      const location = await place();
      const [one, two] = [await open(location), await open(location)];
      const raced = await Promise.all([one.acquireLease('one', AT), two.acquireLease('two', AT)]);
      expect(raced.filter((answer) => answer.ok)).toHaveLength(1);
      const [holder, other] = raced[0]?.ok ? ([one, two] as const) : ([two, one] as const);
      const [held, waiting] = raced[0]?.ok ? ['one', 'two'] : ['two', 'one'];
      expect(raced.find((answer) => !answer.ok)).toEqual({ ok: false, pid: process.pid });
      // Renewed, it lives on past its first expiry.
      expect(await holder.renewLease(held, AT + LEASE_TTL_MS - 1)).toBe(true);
      expect(await other.acquireLease(waiting, AT + LEASE_TTL_MS + 1)).toMatchObject({ ok: false });
      // Not renewed (its holder was killed): the other process takes it, and the holder hears so.
      expect(await other.acquireLease(waiting, AT + 2 * LEASE_TTL_MS)).toEqual({ ok: true });
      expect(await holder.renewLease(held, AT + 2 * LEASE_TTL_MS)).toBe(false);
    });
  }

  if (backend.name === 'sqlite') {
    it('holds the lease for a live process on this host, and frees a dead one’s', async () => {
      const location = await place();
      const ledger = await open(location);
      await ledger.acquireLease('other', AT);
      const file = new Database(join(location.dataDir, 'curation.sqlite'));
      // Another process of this host holds it (the test runner's parent lives)…
      file.prepare('UPDATE lease SET pid = ?').run(process.ppid);
      expect(await ledger.acquireLease('mine', AT)).toEqual({ ok: false, pid: process.ppid });
      // …or held it: a process that has exited.
      const dead = spawnSync(process.execPath, ['-e', '']).pid as number;
      file.prepare('UPDATE lease SET pid = ?').run(dead);
      file.close();
      expect(await ledger.acquireLease('mine', AT)).toEqual({ ok: true });
    });

    it('reads a file an earlier version wrote, before the ledger had migrations', async () => {
      const { dataDir } = await place();
      const old = new Database(join(dataDir, 'curation.sqlite'));
      old.exec(`
        CREATE TABLE cursor (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL,
          failing_seq INTEGER, failures INTEGER NOT NULL DEFAULT 0);
        INSERT OR IGNORE INTO cursor (id, seq) VALUES (1, 0);
        CREATE TABLE verdicts (interaction_id TEXT NOT NULL, seq INTEGER NOT NULL, persona TEXT NOT NULL,
          status TEXT NOT NULL, total INTEGER, scores TEXT, reason TEXT NOT NULL, rubric_version TEXT NOT NULL,
          judge TEXT NOT NULL, judge_model TEXT NOT NULL, kept INTEGER NOT NULL, judged_at INTEGER NOT NULL,
          PRIMARY KEY (interaction_id, persona));
        CREATE TABLE forgotten (interaction_id TEXT PRIMARY KEY, at INTEGER NOT NULL, applied INTEGER NOT NULL DEFAULT 0);
        CREATE TABLE lease (id INTEGER PRIMARY KEY CHECK (id = 1), pid INTEGER NOT NULL, token TEXT NOT NULL,
          since INTEGER NOT NULL);
        UPDATE cursor SET seq = 12;
        INSERT INTO forgotten (interaction_id, at) VALUES ('gone', 1);
      `);
      old.close();
      const ledger = await open({ dataDir });
      expect(await ledger.cursor()).toBe(12);
      expect(await ledger.unappliedForgets()).toEqual(['gone']);
      expect(await ledger.acquireLease('a', AT)).toEqual({ ok: true });
      await ledger.countMemberSamples('ada', '2026-11-30', 1);
      expect(await ledger.memberAdded('ada', '2026-11-30')).toBe(1);
    });
  }
});
