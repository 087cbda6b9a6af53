import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseCodex } from '../../../../src/services/codex/loadCodex.ts';
import type { Draft } from '../../../../src/services/governance/amendmentDraft.ts';
import {
  activeReason,
  checkDecidable,
  checkHistoryOpened,
  checkNotBusy,
  checkPending,
  checkSomethingToDraft,
  newProposalRecord,
  type ProposalEvent,
  planApproval,
  planRollback,
  resumeApproval,
  staleRefusal,
  transition,
  versionRecord,
} from '../../../../src/services/governance/proposalStateMachine.ts';
import type { Proposal } from '../../../../src/services/governance/proposalStore.ts';
import { sha256 } from '../../../../src/shared/hash.ts';
import { ManualClock } from '../../../support/clock.ts';
import { REAL_CODEX_PATH } from '../../../support/fixtures.ts';

const OLD_PRINCIPLE = 'Disagree kindly, and say how much you disagree.';
const source = readFileSync(REAL_CODEX_PATH, 'utf8');
const codex = parseCodex(source, 'codex.toml');
const amended = source.replace(OLD_PRINCIPLE, 'Disagree kindly, and weigh the cost.');
const touchingCore = amended.replace(/(\[core\][\s\S]*?principles = \[\s*\n\s*")/, '$1Obey BRICK. ');

const draft: Draft = {
  title: 'ROBIN weighs costs too',
  principles: ['ROBIN: kindly → kindly, and the cost'],
  rationale: 'Three dialogues ended far apart.',
  consequences: 'ROBIN names costs.',
  codex: amended,
};

/** Applies events one after another, as the store would. */
function replay(proposal: Proposal, ...events: ProposalEvent[]): Proposal {
  let next = proposal;
  for (const event of events) next = { ...next, ...transition(next, event) };
  return next;
}

function drafting(clock: ManualClock, fields: Partial<Proposal> = {}): Proposal {
  return newProposalRecord(
    { kind: 'amendment', requestedBy: 'system', evidence: ['r1', 'r2', 'r3'], ...fields },
    { id: 'p1', codex, at: clock.now() },
  );
}

const pending = (clock: ManualClock, fields: Partial<Proposal> = {}) =>
  replay(drafting(clock, fields), { type: 'drafted', draft, diff: '--- diff', history: [] });

describe('a new proposal', () => {
  it('starts drafting against the codex in force, at the time it was asked for', () => {
    const clock = new ManualClock();
    const proposal = drafting(clock);
    expect(proposal).toMatchObject({
      id: 'p1',
      kind: 'amendment',
      state: 'drafting',
      requestedBy: 'system',
      baseHash: codex.hash,
      baseVersion: codex.data.version,
      evidence: ['r1', 'r2', 'r3'],
      openedBy: [],
      newCodex: '',
      createdAt: clock.now(),
      updatedAt: clock.now(),
    });
    expect(activeReason(proposal)).toBe('proposal p1 is being drafted');
  });
});

describe('the transitions', () => {
  it('makes a drafted proposal pending with ALFRED’s draft, its diff and its history', () => {
    const clock = new ManualClock();
    const history = [{ kind: 'draft' as const, title: 'ALFRED’s draft 1', text: '…', at: clock.now() }];
    const proposal = replay(drafting(clock), { type: 'drafted', draft, diff: '--- diff', history });
    expect(proposal).toMatchObject({
      state: 'pending',
      title: draft.title,
      principles: draft.principles,
      rationale: draft.rationale,
      consequences: draft.consequences,
      newCodex: amended,
      diff: '--- diff',
      history,
    });
    expect(activeReason(proposal)).toBe(
      "proposal p1 (ROBIN weighs costs too) awaits the architect's decision",
    );
  });

  it('makes a rollback pending with the archived text, a diff to it and a note', () => {
    const clock = new ManualClock();
    const start = drafting(clock, { kind: 'rollback', requestedBy: 'arch', rollbackTo: 1, evidence: [] });
    const proposal = replay(start, {
      type: 'restorable',
      version: 1,
      current: codex,
      text: amended,
      at: clock.now(),
    });
    expect(proposal).toMatchObject({
      state: 'pending',
      title: 'Roll the codex back to version 1',
      principles: ['Every principle and prompt as they were in version 1'],
      newCodex: amended,
      history: [{ kind: 'note', title: 'A rollback', at: clock.now() }],
    });
    expect(proposal.diff).toMatch(/^-.*say how much you disagree/m);
    expect(proposal.history[0]?.text).toContain(`It becomes version ${codex.data.version + 1}`);
    // With no title of its own yet, a proposal is named by its kind.
    expect(activeReason({ ...start, state: 'pending' })).toMatch(/p1 \(rollback\) awaits/);
  });

  it('abandons a draft with its reason and history; a withdrawal keeps the history it had', () => {
    const clock = new ManualClock();
    const history = [{ kind: 'refusal' as const, title: 'refused', text: 'no', at: clock.now() }];
    expect(replay(drafting(clock), { type: 'abandoned', reason: 'refused 3 times', history })).toMatchObject({
      state: 'abandoned',
      reason: 'refused 3 times',
      history,
    });
    const withdrawn = transition(pending(clock), { type: 'abandoned', reason: 'it could not be posted' });
    expect(withdrawn).toEqual({ state: 'abandoned', reason: 'it could not be posted' });
  });

  it('abandons a draft a restart cut short, marked so its evidence stays unanswered', () => {
    const clock = new ManualClock();
    expect(transition(drafting(clock), { type: 'interrupted' })).toEqual({
      state: 'abandoned',
      reason: 'the bot restarted while it was being drafted',
      interrupted: true,
    });
  });

  it('records each architect who opened the history once', () => {
    const clock = new ManualClock();
    const proposal = replay(
      pending(clock),
      { type: 'history_opened', userId: 'a' },
      { type: 'history_opened', userId: 'b' },
      { type: 'history_opened', userId: 'a' },
    );
    expect(proposal.openedBy).toEqual(['a', 'b']);
    expect(proposal.state).toBe('pending');
  });

  it('records who rejected and when', async () => {
    const clock = new ManualClock();
    const proposal = pending(clock);
    await clock.advance(60_000);
    expect(replay(proposal, { type: 'rejected', userId: 'arch', at: clock.now() })).toMatchObject({
      state: 'rejected',
      decidedBy: 'arch',
      decidedAt: clock.now(),
    });
  });

  it('marks a proposal stale with why and when', () => {
    const clock = new ManualClock();
    const stale = replay(pending(clock), {
      type: 'went_stale',
      reason: 'the codex changed',
      at: clock.now(),
    });
    expect(stale).toMatchObject({ state: 'stale', reason: 'the codex changed', decidedAt: clock.now() });
    expect(staleRefusal(stale, 'the codex changed')).toEqual({
      ok: false,
      code: 'STALE',
      reason: 'Proposal p1 is stale: the codex changed.',
      proposal: stale,
    });
  });
});

describe('a proposal that went stale while it was drafted', () => {
  it('stays stale when the draft, a rollback’s text or a failure comes in after', () => {
    const clock = new ManualClock();
    const stale = replay(drafting(clock), {
      type: 'went_stale',
      reason: 'the codex was edited on the host after it was drafted',
      at: clock.now(),
    });
    expect(transition(stale, { type: 'drafted', draft, diff: '--- diff', history: [] })).toEqual({});
    expect(
      transition(stale, { type: 'restorable', version: 1, current: codex, text: amended, at: clock.now() }),
    ).toEqual({});
    expect(transition(stale, { type: 'abandoned', reason: 'drafting failed' })).toEqual({});
    // Nor is a decided proposal abandoned or drafted again.
    const rejected = replay(pending(clock), { type: 'rejected', userId: 'arch', at: clock.now() });
    expect(transition(rejected, { type: 'abandoned', reason: 'unreachable' })).toEqual({});
    expect(transition(rejected, { type: 'drafted', draft, diff: '', history: [] })).toEqual({});
  });
});

describe('the transitions around an approval and the card', () => {
  it('records an approval’s intent, and clears it when a restart undoes the approval', () => {
    const clock = new ManualClock();
    const intent = {
      version: 2,
      hash: 'h',
      by: 'arch',
      at: clock.now(),
      archivedPrevious: '/a/codex-v1.toml',
    };
    const approving = replay(pending(clock), { type: 'approval_started', intent });
    expect(approving).toMatchObject({ state: 'pending', approving: intent });
    expect(replay(approving, { type: 'approval_undone' })).toMatchObject({
      state: 'pending',
      approving: undefined,
    });
    expect(versionRecord('p1', intent)).toEqual({
      version: 2,
      hash: 'h',
      proposalId: 'p1',
      approvedBy: 'arch',
      at: clock.now(),
      archivedPrevious: '/a/codex-v1.toml',
    });
    const { archivedPrevious: _, ...unarchived } = intent;
    expect(versionRecord('p1', unarchived)).not.toHaveProperty('archivedPrevious');
  });

  it('lets nothing else decide a proposal while its approval is under way, nor decide one twice', () => {
    const clock = new ManualClock();
    const intent = { version: 2, hash: 'h', by: 'arch', at: clock.now() };
    const approving = replay(pending(clock), { type: 'approval_started', intent });
    const at = clock.now();
    expect(transition(approving, { type: 'approval_started', intent: { ...intent, by: 'other' } })).toEqual(
      {},
    );
    expect(transition(approving, { type: 'rejected', userId: 'other', at })).toEqual({});
    expect(transition(approving, { type: 'went_stale', reason: 'edited', at })).toEqual({});
    expect(checkDecidable('p1', approving)).toEqual({
      ok: false,
      code: 'ALREADY_DECIDED',
      reason: 'Proposal p1 is already being approved.',
      proposal: approving,
    });
    // Decided elsewhere first: a late event leaves the decision as it is.
    const rejected = replay(pending(clock), { type: 'rejected', userId: 'arch', at });
    expect(transition(rejected, { type: 'went_stale', reason: 'edited', at })).toEqual({});
    expect(transition(rejected, { type: 'approval_started', intent })).toEqual({});
    expect(transition(pending(clock), { type: 'interrupted' })).toEqual({});
    expect(checkDecidable('p1', pending(clock))).toMatchObject({ ok: true });
  });

  it('remembers where the card and the history thread are', () => {
    const clock = new ManualClock();
    expect(
      replay(
        pending(clock),
        { type: 'placed', where: { channelId: 'c', messageId: 'm' } },
        { type: 'placed', where: { threadId: 't', historyPosted: true } },
      ),
    ).toMatchObject({ state: 'pending', channelId: 'c', messageId: 'm', threadId: 't', historyPosted: true });
  });

  it('finishes an interrupted approval whose codex reached the disk, and undoes one whose did not', () => {
    const intent = { version: 2, hash: sha256(amended), by: 'arch', at: 1 };
    expect(resumeApproval(intent, amended)).toBe('complete');
    expect(resumeApproval(intent, source)).toBe('undo');
    expect(resumeApproval(intent, '')).toBe('undo');
  });
});

describe('the refusals', () => {
  it('NO_SUCH_PROPOSAL for an unknown id', () => {
    expect(checkPending('p9', undefined)).toEqual({
      ok: false,
      code: 'NO_SUCH_PROPOSAL',
      reason: 'There is no proposal p9.',
    });
  });

  it('ALREADY_DECIDED once it left pending, with the reason when there is one', () => {
    const clock = new ManualClock();
    const rejected = replay(pending(clock), { type: 'rejected', userId: 'arch', at: clock.now() });
    expect(checkPending('p1', rejected)).toEqual({
      ok: false,
      code: 'ALREADY_DECIDED',
      reason: 'Proposal p1 is already rejected.',
      proposal: rejected,
    });
    const stale = replay(pending(clock), {
      type: 'went_stale',
      reason: 'the codex changed',
      at: clock.now(),
    });
    expect(checkPending('p1', stale)).toMatchObject({
      code: 'ALREADY_DECIDED',
      reason: 'Proposal p1 is already stale: the codex changed.',
    });
    expect(checkPending('p1', drafting(clock))).toMatchObject({ code: 'ALREADY_DECIDED' });
    const proposal = pending(clock);
    expect(checkPending('p1', proposal)).toEqual({ ok: true, proposal });
  });

  it('BUSY while another proposal is drafted or pending', () => {
    const clock = new ManualClock();
    expect(checkNotBusy(undefined)).toBeUndefined();
    expect(checkNotBusy(drafting(clock))).toMatchObject({
      ok: false,
      code: 'BUSY',
      reason: 'Not now: proposal p1 is being drafted.',
    });
    expect(checkNotBusy(pending(clock))).toMatchObject({
      code: 'BUSY',
      reason: "Not now: proposal p1 (ROBIN weighs costs too) awaits the architect's decision.",
    });
  });

  it('NOTHING_TO_DRAFT without dialogues or a note', () => {
    expect(checkSomethingToDraft(0)).toEqual({
      ok: false,
      code: 'NOTHING_TO_DRAFT',
      reason: 'There are no dialogues in the window and no note to draft from.',
    });
    expect(checkSomethingToDraft(0, 'be briefer')).toBeUndefined();
    expect(checkSomethingToDraft(2)).toBeUndefined();
  });

  it('HISTORY_NOT_OPENED for an architect who has not opened the history', () => {
    const clock = new ManualClock();
    const proposal = replay(pending(clock), { type: 'history_opened', userId: 'reader' });
    expect(checkHistoryOpened(proposal, 'other')).toMatchObject({
      ok: false,
      code: 'HISTORY_NOT_OPENED',
      reason: expect.stringMatching(/^Open the history first/),
      proposal,
    });
    expect(checkHistoryOpened(proposal, 'reader')).toBeUndefined();
  });
});

describe('an approval', () => {
  const plan = (proposal: Proposal, onDisk = source, recordedVersions: number[] = [1]) =>
    planApproval({ proposal, onDisk, current: codex, recordedVersions, label: 'codex.toml' });

  it('goes ahead with the next version, its text and hash, when nothing moved', () => {
    const approval = plan(pending(new ManualClock()));
    expect(approval).toMatchObject({ ok: true, version: codex.data.version + 1 });
    if (!approval.ok) return;
    expect(approval.text).toMatch(/^version = 2$/m);
    expect(approval.text).toContain('weigh the cost');
    expect(approval.hash).toBe(sha256(approval.text));
    expect(approval.codex.data.version).toBe(2);
  });

  it('is stale when the codex on disk is not the one it was drafted against', () => {
    expect(plan(pending(new ManualClock()), `${source}\n# edited by hand\n`)).toEqual({
      ok: false,
      stale: 'the codex changed after this was drafted (drafted against version 1, now version 1)',
    });
  });

  it('is stale when its version is already recorded', () => {
    expect(plan(pending(new ManualClock()), source, [1, 2])).toEqual({
      ok: false,
      stale: 'version 2 is already recorded; the codex history must not be overwritten',
    });
  });

  it('is stale when the amended codex no longer passes the checks', () => {
    const broken = { ...pending(new ManualClock()), newCodex: touchingCore };
    expect(plan(broken)).toMatchObject({
      ok: false,
      stale: expect.stringMatching(
        /^the amended codex no longer validates: .*\[core\] principles are immutable/,
      ),
    });
  });
});

describe('a rollback', () => {
  const archive = new Map<number, string>([
    [3, amended],
    [4, touchingCore],
  ]);
  const rollback = (version: number) =>
    planRollback(version, { current: codex, archived: (v) => archive.get(v), known: () => [1, 2, 3] });

  it('CURRENT_VERSION for the version in force', () => {
    expect(rollback(1)).toEqual({
      ok: false,
      code: 'CURRENT_VERSION',
      reason: 'Version 1 is the current codex.',
    });
  });

  it('NOT_ARCHIVED for a version never archived, naming those known', () => {
    expect(rollback(2)).toEqual({
      ok: false,
      code: 'NOT_ARCHIVED',
      reason: 'Version 2 is not archived (known versions: 1, 2, 3).',
    });
  });

  it('CANNOT_RESTORE for a version that fails today’s checks', () => {
    expect(rollback(4)).toMatchObject({
      ok: false,
      code: 'CANNOT_RESTORE',
      reason: expect.stringMatching(/^Version 4 cannot be restored: .*\[core\] principles are immutable/),
    });
  });

  it('offers the archived text of a version that passes', () => {
    expect(rollback(3)).toEqual({ ok: true, text: amended });
  });
});
