import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  approveProposal,
  inspectProposal,
  openHistory,
  placeProposal,
  rejectProposal,
  withdrawProposal,
} from '../../../../src/services/governance/amendmentDecisions.ts';
import { newProposalRecord } from '../../../../src/services/governance/proposalStateMachine.ts';
import { tempFolders } from '../../../support/fixtures.ts';
import { governanceWorld } from './fakes.ts';

const OLD_PRINCIPLE = 'Disagree kindly, and say how much you disagree.';
const NEW_PRINCIPLE = 'Disagree kindly, and weigh the cost.';
const { folder, cleanup } = tempFolders();
afterEach(cleanup);

/** A world with proposal p1 pending: the ROBIN principle amended, drafted against the codex in force. */
async function withPending() {
  const world = governanceWorld(folder());
  const codex = world.codex();
  await world.store.addVersion({ version: 1, hash: codex.hash, at: world.clock.now() });
  await world.store.create({
    ...newProposalRecord(
      { kind: 'amendment', requestedBy: 'system', evidence: ['r1'] },
      { id: 'p1', codex, at: world.clock.now() },
    ),
    state: 'pending',
    title: 'ROBIN weighs costs too',
    newCodex: codex.source.replace(OLD_PRINCIPLE, NEW_PRINCIPLE),
  });
  return world;
}

describe('approving a proposal', () => {
  it('writes, archives and records the new codex, and puts it in force, for an architect who read the history', async () => {
    const world = await withPending();
    const before = readFileSync(world.codexPath, 'utf8');
    expect(await approveProposal(world, 'p1', 'arch')).toMatchObject({
      ok: false,
      code: 'HISTORY_NOT_OPENED',
    });
    expect(await openHistory(world, 'p1', 'arch')).toMatchObject({
      ok: true,
      proposal: { openedBy: ['arch'] },
    });
    await world.clock.advance(5_000);

    const decision = await approveProposal(world, 'p1', 'arch');

    expect(decision).toMatchObject({
      ok: true,
      proposal: { state: 'approved', decidedBy: 'arch', decidedAt: world.clock.now(), newVersion: 2 },
    });
    expect(decision.proposal?.approving).toBeUndefined();
    const written = readFileSync(world.codexPath, 'utf8');
    expect(written).toMatch(/^version = 2$/m);
    expect(written).toContain(NEW_PRINCIPLE);
    const archived = join(world.dataDir, 'codex-history', 'codex-v1.toml');
    expect(readFileSync(archived, 'utf8')).toBe(before);
    expect((await world.store.versions()).at(-1)).toMatchObject({
      version: 2,
      proposalId: 'p1',
      approvedBy: 'arch',
      at: world.clock.now(),
      archivedPrevious: archived,
    });
    expect(world.codex().data.version).toBe(2);
    expect(world.events).toEqual([['codex_amended', { proposal: decision.proposal, version: 2 }]]);
    // A second press finds it decided.
    expect(await approveProposal(world, 'p1', 'arch')).toMatchObject({
      ok: false,
      code: 'ALREADY_DECIDED',
      reason: 'Proposal p1 is already approved.',
    });
  });

  it('writes nothing over a host edit saved between its read and its write, and marks it stale', async () => {
    const world = await withPending();
    await openHistory(world, 'p1', 'arch');
    const hostEdit = `${readFileSync(world.codexPath, 'utf8')}\n# the operator's edit\n`;
    // The operator saves just as the approval's intent is recorded: after the codex was read.
    const update = world.store.update.bind(world.store);
    const racing: typeof world.store.update = async (id, change, at) => {
      const next = await update(id, change, at);
      if (next.approving) writeFileSync(world.codexPath, hostEdit);
      return next;
    };
    world.store.update = racing;

    const decision = await approveProposal(world, 'p1', 'arch');

    expect(decision).toMatchObject({
      ok: false,
      code: 'STALE',
      reason: 'Proposal p1 is stale: the codex was edited on the host while it was being approved.',
    });
    expect(readFileSync(world.codexPath, 'utf8')).toBe(hostEdit);
    expect(await world.store.get('p1')).toMatchObject({ state: 'stale' });
    expect((await world.store.get('p1'))?.approving).toBeUndefined();
    expect((await world.store.versions()).map((v) => v.version)).toEqual([1]);
    expect(world.codex().data.version).toBe(1);
    expect(world.events).toEqual([]);
  });

  it('marks it stale, and writes nothing, when the codex on disk changed after the draft', async () => {
    const world = await withPending();
    const edited = `${readFileSync(world.codexPath, 'utf8')}\n# edited by hand\n`;
    writeFileSync(world.codexPath, edited);
    await openHistory(world, 'p1', 'arch');

    expect(await approveProposal(world, 'p1', 'arch')).toMatchObject({
      ok: false,
      code: 'STALE',
      reason: expect.stringMatching(/^Proposal p1 is stale: the codex changed after this was drafted/),
      proposal: { state: 'stale', decidedAt: world.clock.now() },
    });
    expect(readFileSync(world.codexPath, 'utf8')).toBe(edited);
    expect(world.codex().data.version).toBe(1);
    expect(world.events).toEqual([]);
  });

  it('marks it stale when its version is already recorded', async () => {
    const world = await withPending();
    await world.store.addVersion({ version: 2, hash: 'elsewhere', at: 0 });
    await openHistory(world, 'p1', 'arch');
    expect(await approveProposal(world, 'p1', 'arch')).toMatchObject({
      code: 'STALE',
      reason:
        'Proposal p1 is stale: version 2 is already recorded; the codex history must not be overwritten.',
    });
  });
});

describe('two decisions at once', () => {
  it('ratifies once when Approve is pressed twice together: the other press is refused', async () => {
    const world = await withPending();
    await openHistory(world, 'p1', 'arch');
    const decisions = await Promise.all([
      approveProposal(world, 'p1', 'arch'),
      approveProposal(world, 'p1', 'arch'),
    ]);
    expect(decisions.filter((d) => d.ok)).toHaveLength(1);
    expect(decisions.find((d) => !d.ok)).toMatchObject({
      code: 'ALREADY_DECIDED',
      reason: expect.stringMatching(/^Proposal p1 is already (being )?approved\.$/),
    });
    expect((await world.store.versions()).map((v) => v.version)).toEqual([1, 2]);
    expect(world.events.filter(([type]) => type === 'codex_amended')).toHaveLength(1);
  });

  it('refuses a rejection pressed while an approval is under way; the approval completes', async () => {
    const world = await withPending();
    await openHistory(world, 'p1', 'arch');
    const update = world.store.update.bind(world.store);
    let rejection: Promise<unknown> | undefined;
    world.store.update = async (id, change, at) => {
      const next = await update(id, change, at);
      if (next.approving && !rejection) rejection = rejectProposal(world, 'p1', 'other');
      return next;
    };

    expect(await approveProposal(world, 'p1', 'arch')).toMatchObject({ ok: true });
    expect(await rejection).toMatchObject({
      ok: false,
      code: 'ALREADY_DECIDED',
      reason: expect.stringMatching(/^Proposal p1 is already (being )?approved\.$/),
    });
    expect(await world.store.get('p1')).toMatchObject({ state: 'approved', decidedBy: 'arch' });
  });
});

describe('an approval with several processes on one database', () => {
  it('names this process in its intent, so that another process starting leaves it alone', async () => {
    const world = await withPending();
    await openHistory(world, 'p1', 'arch');
    const update = world.store.update.bind(world.store);
    const intents: unknown[] = [];
    world.store.update = async (id, change, at) => {
      const next = await update(id, change, at);
      if (next.approving) intents.push(next.approving);
      return next;
    };

    expect(await approveProposal(world, 'p1', 'arch')).toMatchObject({ ok: true });
    expect(intents).toEqual([expect.objectContaining({ by: 'arch', owner: world.owner.self })]);
  });

  it('begins nothing without the lock that shows this process lives: NO_LOCK', async () => {
    const world = await withPending();
    await openHistory(world, 'p1', 'arch');
    const before = readFileSync(world.codexPath, 'utf8');
    world.owner.lockable = false;

    expect(await approveProposal(world, 'p1', 'arch')).toMatchObject({ ok: false, code: 'NO_LOCK' });
    expect(readFileSync(world.codexPath, 'utf8')).toBe(before);
    expect(await world.store.get('p1')).toMatchObject({ state: 'pending' });
    expect((await world.store.get('p1'))?.approving).toBeUndefined();
  });
});

describe('the other decisions', () => {
  it('rejects once, with who and when; a second rejection is refused', async () => {
    const world = await withPending();
    await world.clock.advance(60_000);
    expect(await rejectProposal(world, 'p1', 'arch')).toMatchObject({
      ok: true,
      proposal: { state: 'rejected', decidedBy: 'arch', decidedAt: world.clock.now() },
    });
    expect(await world.store.active()).toBeUndefined();
    expect(await rejectProposal(world, 'p1', 'other')).toMatchObject({
      ok: false,
      code: 'ALREADY_DECIDED',
      proposal: { decidedBy: 'arch' },
    });
    expect(await inspectProposal(world, 'p1')).toMatchObject({ ok: false, code: 'ALREADY_DECIDED' });
  });

  it('refuses every decision on a proposal that does not exist', async () => {
    const world = await withPending();
    for (const decision of [
      await inspectProposal(world, 'p7'),
      await openHistory(world, 'p7', 'arch'),
      await rejectProposal(world, 'p7', 'arch'),
      await withdrawProposal(world, 'p7', 'why'),
      await approveProposal(world, 'p7', 'arch'),
    ]) {
      expect(decision).toEqual({ ok: false, code: 'NO_SUCH_PROPOSAL', reason: 'There is no proposal p7.' });
    }
  });

  it('withdraws a proposal nobody can reach: abandoned, its evidence still answered', async () => {
    const world = await withPending();
    expect(await withdrawProposal(world, 'p1', 'it could not be posted: no channel')).toMatchObject({
      ok: true,
      proposal: { state: 'abandoned', reason: 'it could not be posted: no channel' },
    });
    expect(await world.store.active()).toBeUndefined();
    expect(await world.store.answered()).toEqual(new Set(['r1']));
  });

  it('remembers where the card is, at the time it was placed', async () => {
    const world = await withPending();
    await world.clock.advance(1_000);
    expect(await placeProposal(world, 'p1', { channelId: 'c', messageId: 'm' })).toMatchObject({
      state: 'pending',
      channelId: 'c',
      messageId: 'm',
      updatedAt: world.clock.now(),
    });
  });
});
