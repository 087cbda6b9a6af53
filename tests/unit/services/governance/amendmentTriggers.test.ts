import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_AMENDMENT_SETTINGS } from '../../../../src/services/governance/amendmentSettings.ts';
import {
  evaluateDissonance,
  pausedReason,
  proposeAmendment,
  proposeRollback,
} from '../../../../src/services/governance/amendmentTriggers.ts';
import type { Proposal } from '../../../../src/services/governance/proposalStore.ts';
import type { StoredRecord } from '../../../../src/services/memory/interactionLog.ts';
import { tempFolders } from '../../../support/fixtures.ts';
import { dialogue, governanceWorld, recordsOf } from './fakes.ts';

const HOUR = 3_600_000;
const { folder, cleanup } = tempFolders();
afterEach(cleanup);

/** A world whose drafts are remembered and left drafting (the test decides what becomes of them). */
function withDialogues(records: StoredRecord[]) {
  const world = governanceWorld(folder());
  const drafts: Array<{ proposal: Proposal; evidence: string[]; note?: string | undefined }> = [];
  const deps = {
    ...world,
    records: recordsOf(records),
    settings: DEFAULT_AMENDMENT_SETTINGS,
    draft: async (proposal: Proposal, evidence: StoredRecord[], note?: string) => {
      drafts.push({ proposal, evidence: evidence.map((r) => r.id), note });
      return proposal;
    },
  };
  return { ...deps, drafts };
}

describe('persistent dissonance', () => {
  it('starts a draft at the third dissonant dialogue in the window, and pauses autonomy', async () => {
    const now = Date.UTC(2026, 10, 30, 12);
    const records = [dialogue('a', 0.9, now - 2 * HOUR), dialogue('b', 0.5, now - HOUR)];
    const world = withDialogues(records);
    await world.clock.set(now);
    expect(await evaluateDissonance(world)).toBeUndefined();
    expect(await pausedReason(world.store)).toBeNull();

    records.push(dialogue('c', 0.85, now - 60_000), dialogue('d', 0.95, now));
    const proposal = await evaluateDissonance(world);

    expect(proposal).toMatchObject({
      id: 'p1',
      state: 'drafting',
      requestedBy: 'system',
      evidence: ['a', 'c', 'd'],
      createdAt: now,
    });
    expect(world.drafts.map((d) => d.evidence)).toEqual([['a', 'c', 'd']]);
    expect(await pausedReason(world.store)).toBe('proposal p1 is being drafted');
    // A second trigger while it is drafted stands down.
    expect(await evaluateDissonance(world)).toBeUndefined();
    expect(world.drafts).toHaveLength(1);
  });

  it('counts only dialogues inside the window, on the injected clock, not yet answered', async () => {
    const start = Date.UTC(2026, 10, 30, 8);
    const records = [dialogue('a', 0.9, start), dialogue('b', 0.9, start + HOUR)];
    const world = withDialogues(records);
    await world.clock.set(start + 24 * HOUR + 60_000);
    records.push(dialogue('c', 0.9, world.clock.now()), dialogue('d', 0.9, world.clock.now()));
    // "a" has left the 24 h window: b, c and d make three.
    expect((await evaluateDissonance(world))?.evidence).toEqual(['b', 'c', 'd']);
    await world.store.update('p1', () => ({ state: 'rejected' }), world.clock.now());
    // Answered by p1 (rejected or not), they start nothing again.
    records.push(dialogue('e', 0.9, world.clock.now()));
    expect(await evaluateDissonance(world)).toBeUndefined();
  });
});

describe('two triggers at once', () => {
  it('start one proposal: the second stands down, or is refused BUSY', async () => {
    const now = Date.UTC(2026, 10, 30, 12);
    const records = ['a', 'b', 'c'].map((id, i) => dialogue(id, 0.9, now - (3 - i) * 60_000));
    const world = withDialogues(records);
    await world.clock.set(now);
    const [first, second, asked] = await Promise.all([
      evaluateDissonance(world),
      evaluateDissonance(world),
      proposeAmendment(world, 'arch', 'a note'),
    ]);
    expect([first, second, asked.ok ? asked.proposal : undefined].filter(Boolean)).toHaveLength(1);
    expect(world.drafts).toHaveLength(1);
    expect(await world.store.list()).toHaveLength(1);
  });
});

describe('persistent dissonance from one member', () => {
  it('needs AMENDMENT_MIN_MEMBERS different members: one member’s dialogues alone start nothing', async () => {
    const now = Date.UTC(2026, 10, 30, 12);
    const records = ['a', 'b', 'c', 'd'].map((id, i) => dialogue(id, 0.9, now - (4 - i) * 60_000, 'mallory'));
    const world = withDialogues(records);
    await world.clock.set(now);
    expect(DEFAULT_AMENDMENT_SETTINGS.minMembers).toBe(2);
    expect(await evaluateDissonance(world)).toBeUndefined();
    expect(await pausedReason(world.store)).toBeNull();

    // A second member's dissonant dialogue makes it persistent dissonance.
    records.push(dialogue('e', 0.85, now, 'bob'));
    expect((await evaluateDissonance(world))?.evidence).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('counts the dialogues with no member (the terminal chat) as one more, and never asks more members than events', async () => {
    const now = Date.UTC(2026, 10, 30, 12);
    const terminal = (id: string) => dialogue(id, 0.9, now, null);
    const lone = withDialogues([terminal('a'), terminal('b'), terminal('c')]);
    await lone.clock.set(now);
    expect(await evaluateDissonance(lone)).toBeUndefined();

    const mixed = withDialogues([terminal('a'), terminal('b'), dialogue('c', 0.9, now, 'bob')]);
    await mixed.clock.set(now);
    expect((await evaluateDissonance(mixed))?.evidence).toEqual(['a', 'b', 'c']);

    const one = withDialogues([terminal('a')]);
    await one.clock.set(now);
    const proposal = await evaluateDissonance({ ...one, settings: { ...one.settings, minEvents: 1 } });
    expect(proposal?.evidence).toEqual(['a']);
  });
});

describe('/codex propose', () => {
  it('drafts from the most dissonant recent dialogues when none is high', async () => {
    const records: StoredRecord[] = [];
    const world = withDialogues(records);
    const now = world.clock.now();
    records.push(
      dialogue('low', 0.2, now - HOUR),
      dialogue('mid', 0.6, now - HOUR),
      dialogue('none', null, now),
    );
    expect(await proposeAmendment(world, 'arch')).toMatchObject({
      ok: true,
      proposal: { id: 'p1', requestedBy: 'arch', evidence: ['mid', 'low'] },
    });
    expect(world.drafts[0]).toMatchObject({ evidence: ['mid', 'low'], note: undefined });
  });

  it('drafts from a note alone; without dialogues or a note, NOTHING_TO_DRAFT', async () => {
    const world = withDialogues([]);
    expect(await proposeAmendment(world, 'arch')).toMatchObject({ ok: false, code: 'NOTHING_TO_DRAFT' });
    expect(await world.store.list()).toEqual([]);
    expect(await proposeAmendment(world, 'arch', 'be briefer')).toMatchObject({ ok: true });
    expect(world.drafts).toMatchObject([{ evidence: [], note: 'be briefer' }]);
  });

  it('is refused BUSY while another proposal is active', async () => {
    const world = withDialogues([]);
    await proposeAmendment(world, 'arch', 'first');
    expect(await proposeAmendment(world, 'arch', 'second')).toMatchObject({
      ok: false,
      code: 'BUSY',
      reason: 'Not now: proposal p1 is being drafted.',
    });
    expect(world.drafts).toHaveLength(1);
  });
});

describe('a draft with several processes on one database', () => {
  it('names the process drafting it, so that another process starting leaves it alone', async () => {
    const world = withDialogues([]);
    expect(await proposeAmendment(world, 'arch', 'be briefer')).toMatchObject({
      ok: true,
      proposal: { state: 'drafting', owner: world.owner.self },
    });
  });

  it('begins nothing without the lock that shows this process lives', async () => {
    const now = Date.UTC(2026, 10, 30, 12);
    const world = withDialogues([dialogue('a', 0.9, now), dialogue('b', 0.9, now), dialogue('c', 0.9, now)]);
    await world.clock.set(now);
    world.owner.lockable = false;

    expect(await proposeAmendment(world, 'arch', 'be briefer')).toMatchObject({ ok: false, code: 'NO_LOCK' });
    expect(await evaluateDissonance(world)).toBeUndefined();
    expect(await proposeRollback(world, 1, 'arch')).toMatchObject({ ok: false });
    expect(await world.store.list()).toEqual([]);
    expect(world.drafts).toEqual([]);
  });
});

describe('/codex rollback', () => {
  it('offers an archived version as a pending proposal at once, through the same gate', async () => {
    const world = withDialogues([]);
    const archive = join(world.dataDir, 'codex-history');
    mkdirSync(archive, { recursive: true });
    const older = readFileSync(world.codexPath, 'utf8').replace('Disagree kindly', 'Disagree gently');
    writeFileSync(join(archive, 'codex-v3.toml'), older);

    const decision = await proposeRollback(world, 3, 'arch');

    expect(decision).toMatchObject({
      ok: true,
      proposal: {
        id: 'p1',
        kind: 'rollback',
        state: 'pending',
        rollbackTo: 3,
        requestedBy: 'arch',
        newCodex: older,
      },
    });
    expect(world.events).toEqual([['proposal_ready', { proposal: decision.proposal }]]);
    expect(await proposeRollback(world, 3, 'arch')).toMatchObject({ ok: false, code: 'BUSY' });
  });

  it('refuses the version in force and one never archived', async () => {
    const world = withDialogues([]);
    await world.store.addVersion({ version: 1, hash: 'h', at: 0 });
    expect(await proposeRollback(world, 1, 'arch')).toMatchObject({ code: 'CURRENT_VERSION' });
    expect(await proposeRollback(world, 5, 'arch')).toMatchObject({
      code: 'NOT_ARCHIVED',
      reason: 'Version 5 is not archived (known versions: 1).',
    });
    expect(await world.store.list()).toEqual([]);
  });
});

describe('whose readers a proposal is drafted for', () => {
  it('is the governance channel’s, or, without one, the channel /codex propose was asked in', async () => {
    const now = Date.UTC(2026, 10, 30, 12);
    const records = ['a', 'b', 'c'].map((id, i) => dialogue(id, 0.9, now - (3 - i) * 60_000));
    const world = withDialogues(records);
    await world.clock.set(now);
    expect(await evaluateDissonance(world)).toMatchObject({ draftedFor: 'governance' });

    const asked: Array<string | undefined> = [];
    const noGovernance = withDialogues(records);
    const readers = {
      channelFor: (askedIn?: string) => {
        asked.push(askedIn);
        return askedIn;
      },
    };
    await noGovernance.clock.set(now);
    const decision = await proposeAmendment(
      { ...noGovernance, readers: () => readers },
      'arch',
      'a note',
      'here',
    );
    expect(decision).toMatchObject({ ok: true, proposal: { draftedFor: 'here' } });
    expect(asked).toEqual(['here']);
    // Nobody to post to (no channel at all): no audience is stored, and nothing will be shown.
    await noGovernance.store.update('p1', () => ({ state: 'rejected' }), now);
    const nowhere = await proposeAmendment({ ...noGovernance, readers: () => readers }, 'arch', 'a note');
    expect(nowhere.ok ? Object.hasOwn(nowhere.proposal, 'draftedFor') : 'refused').toBe(false);
  });
});
