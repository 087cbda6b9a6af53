import { writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { newProposalRecord } from '../../../../src/services/governance/proposalStateMachine.ts';
import type { Proposal } from '../../../../src/services/governance/proposalStore.ts';
import { repairAfterRestart } from '../../../../src/services/governance/repairAfterRestart.ts';
import { sha256 } from '../../../../src/shared/hash.ts';
import { tempFolders } from '../../../support/fixtures.ts';
import { governanceWorld } from './fakes.ts';

const { folder, cleanup } = tempFolders();
afterEach(cleanup);

function proposal(
  world: ReturnType<typeof governanceWorld>,
  id: string,
  fields: Partial<Proposal>,
): Promise<Proposal> {
  return world.store.create({
    ...newProposalRecord({ kind: 'amendment', requestedBy: 'system' }, { id, codex: world.codex(), at: 0 }),
    ...fields,
  });
}

describe('the repair at start', () => {
  it('abandons a draft the restart cut short, and records the codex as first found', async () => {
    const world = governanceWorld(folder());
    await proposal(world, 'p1', { state: 'drafting', evidence: ['r1'] });
    await world.clock.advance(1_000);

    await repairAfterRestart(world);

    expect(await world.store.get('p1')).toMatchObject({
      state: 'abandoned',
      reason: 'the bot restarted while it was being drafted',
      interrupted: true,
      updatedAt: world.clock.now(),
    });
    // Its evidence is not answered: the next dialogue may trigger a draft again.
    expect(await world.store.answered()).toEqual(new Set());
    expect(await world.store.versions()).toEqual([
      { version: 1, hash: world.codex().hash, at: world.clock.now() },
    ]);
    await repairAfterRestart(world);
    expect(await world.store.versions()).toHaveLength(1);
  });

  it('finishes an approval whose codex reached the disk', async () => {
    const world = governanceWorld(folder());
    const written = world.codex().source.replace(/^version = 1$/m, 'version = 2');
    writeFileSync(world.codexPath, written);
    const intent = {
      version: 2,
      hash: sha256(written),
      by: 'arch',
      at: 7,
      archivedPrevious: '/h/codex-v1.toml',
    };
    await proposal(world, 'p1', { state: 'pending', approving: intent });

    await repairAfterRestart(world);

    expect(await world.store.get('p1')).toMatchObject({
      state: 'approved',
      decidedBy: 'arch',
      decidedAt: 7,
      newVersion: 2,
    });
    expect((await world.store.get('p1'))?.approving).toBeUndefined();
    expect(await world.store.versions()).toContainEqual({
      version: 2,
      hash: intent.hash,
      proposalId: 'p1',
      approvedBy: 'arch',
      at: 7,
      archivedPrevious: '/h/codex-v1.toml',
    });
  });

  it('undoes an approval whose codex never reached the disk: pending again', async () => {
    const world = governanceWorld(folder());
    await proposal(world, 'p1', {
      state: 'pending',
      approving: { version: 2, hash: 'never written', by: 'arch', at: 7 },
    });

    await repairAfterRestart(world);

    expect(await world.store.get('p1')).toMatchObject({ state: 'pending', approving: undefined });
    expect((await world.store.versions()).map((v) => v.version)).toEqual([1]);
  });

  it('leaves alone a draft and an approval another live process is working on; repairs a dead one’s', async () => {
    const world = governanceWorld(folder());
    world.owner.living.add('other-process');
    await proposal(world, 'p1', { state: 'drafting', owner: 'other-process' });
    await proposal(world, 'p2', { state: 'drafting', owner: 'dead-process' });
    await proposal(world, 'p3', {
      state: 'pending',
      approving: { version: 2, hash: 'not written yet', by: 'arch', at: 7, owner: 'other-process' },
    });

    await repairAfterRestart(world);

    expect(await world.store.get('p1')).toMatchObject({ state: 'drafting', owner: 'other-process' });
    expect(await world.store.get('p2')).toMatchObject({ state: 'abandoned', interrupted: true });
    // Undone, its codex write could still land under a pending proposal.
    expect((await world.store.get('p3'))?.approving).toMatchObject({ owner: 'other-process' });

    // The other process dies: the next start repairs what it left.
    world.owner.living.delete('other-process');
    await repairAfterRestart(world);
    expect(await world.store.get('p1')).toMatchObject({ state: 'abandoned', interrupted: true });
    expect(await world.store.get('p3')).toMatchObject({ state: 'pending', approving: undefined });
  });
});
