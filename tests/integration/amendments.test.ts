import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Proposal, ProposalStore } from '../../src/services/governance/proposalStore.ts';
import {
  amendedCodex,
  draftAnswer,
  NEW_PRINCIPLE,
  nextEvent,
  OLD_PRINCIPLE,
  scriptDissonantRound,
} from '../support/amendmentScripts.ts';
import { ManualClock } from '../support/clock.ts';
import { TEST_MODELS } from '../support/fixtures.ts';
import { type Harness, startHarness } from '../support/harness.ts';
import { usePostgres, useStoreBackends } from '../support/postgres.ts';

const { ALFRED, BRICK, ROBIN } = TEST_MODELS;
let harness: Harness;
afterEach(() => harness?.close());

const HOUR = 3_600_000;
// The dialogues here have no member (as the terminal chat's): one member is enough (the rule that
// wants two is proven in tests/unit/services/governance/amendmentTriggers.test.ts).
const ENV = {
  MAX_TURNS: '1',
  HIGH_DISSONANCE: '0.8',
  AMENDMENT_MIN_EVENTS: '3',
  AMENDMENT_MIN_MEMBERS: '1',
  MEMORY_RECALL_K: '0',
};

/**
 * What the bot tells the loop about the governance channel's readers: here, that they may read
 * every dialogue (even those of this terminal-like runtime, held in no channel), or only those
 * held in `readable`.
 */
function tellReaders(readable?: readonly string[]) {
  harness.runtime.amendments.useReaders({
    channelFor: () => 'governance',
    readable: () => (channelId) =>
      readable === undefined || (channelId !== undefined && readable.includes(channelId)),
  });
}

/** Three dissonant dialogues; the third triggers a draft that ALFRED answers with `drafts`. */
async function threeDissonantDialogues(
  drafts: string[],
  outcome: 'proposal_ready' | 'proposal_abandoned' = 'proposal_ready',
) {
  for (const tag of ['a', 'b']) {
    scriptDissonantRound(harness.emulator, tag);
    await harness.talk(`c-${tag}`, `task ${tag}`);
  }
  expect(await harness.runtime.amendments.pausedReason()).toBeNull();
  scriptDissonantRound(harness.emulator, 'c');
  harness.emulator.script(ALFRED, drafts);
  // BRICK and ROBIN review a draft that passes.
  if (outcome === 'proposal_ready') {
    harness.emulator.script(BRICK, ['Review: logically sound.']).script(ROBIN, ['Review: gentle enough.']);
  }
  const decided = nextEvent(harness.runtime, outcome);
  await harness.talk('c-c', 'task c');
  return decided;
}

describe('the philosophical loop', () => {
  it('drafts an amendment after persistent dissonance, and pauses autonomy until it is decided', async () => {
    harness = await startHarness({ env: ENV });
    tellReaders();
    const ticks: string[] = [];
    harness.runtime.scheduler.add({
      name: 'curation',
      cron: '0 0 1 1 *',
      autonomous: true,
      async run() {
        ticks.push('curated');
        return 'curated';
      },
    });

    const { proposal } = await threeDissonantDialogues([draftAnswer(amendedCodex(harness.codexPath))]);

    expect(proposal).toMatchObject({
      id: 'p1',
      state: 'pending',
      kind: 'amendment',
      title: 'ROBIN weighs costs too',
      requestedBy: 'system',
      baseVersion: 1,
    });
    expect(proposal.evidence).toHaveLength(3);
    expect(proposal.principles[0]).toContain(NEW_PRINCIPLE);
    expect(proposal.diff).toMatch(/^-.*Disagree kindly, and say how much you disagree/m);
    expect(proposal.diff).toMatch(/^\+.*weigh the cost in money/m);
    expect(proposal.history.filter((h) => h.kind === 'evidence').map((h) => h.text)).toEqual([
      expect.stringContaining('Task: task a'),
      expect.stringContaining('Task: task b'),
      expect.stringContaining('Task: task c'),
    ]);
    // BRICK and ROBIN weighed the draft; their reviews are part of the history.
    expect(proposal.history.filter((h) => h.kind === 'review').map((h) => [h.title, h.text])).toEqual([
      ["BRICK's review", 'Review: logically sound.'],
      ["ROBIN's review", 'Review: gentle enough.'],
    ]);
    expect(harness.emulator.chats(ROBIN).at(-1)?.messages[1]?.content).toMatch(
      /```diff[\s\S]*weigh the cost in money/,
    );
    // ALFRED drafted from the evidence and the current codex.
    const prompt = harness.emulator.chats(ALFRED).at(-1)?.messages[1]?.content ?? '';
    expect(prompt).toContain('antithesis b');
    expect(prompt).toContain(OLD_PRINCIPLE);

    // Autonomy is paused: an autonomous job's tick does nothing.
    expect(await harness.runtime.amendments.pausedReason()).toMatch(/p1 .* awaits the architect/);
    await expect(harness.runtime.scheduler.runNow('curation')).resolves.toMatchObject({
      outcome: 'skipped',
      message: expect.stringMatching(/autonomy is paused/),
    });
    expect(ticks).toEqual([]);

    // A fourth dissonant dialogue does not start a second proposal.
    scriptDissonantRound(harness.emulator, 'd');
    await harness.talk('c-d', 'task d');
    expect(await harness.runtime.amendments.get('p2')).toBeUndefined();

    // Rejected: recorded, autonomy resumes, the next tick runs.
    const rejected = await harness.runtime.amendments.reject('p1', 'arch');
    expect(rejected).toMatchObject({ ok: true, proposal: { state: 'rejected', decidedBy: 'arch' } });
    expect(await harness.runtime.amendments.pausedReason()).toBeNull();
    await expect(harness.runtime.scheduler.runNow('curation')).resolves.toMatchObject({ outcome: 'ok' });
    // Services say no with a stable code and plain words; the bot adds who and when.
    expect(await harness.runtime.amendments.reject('p1', 'arch')).toMatchObject({
      ok: false,
      code: 'ALREADY_DECIDED',
      reason: 'Proposal p1 is already rejected.',
      proposal: { decidedBy: 'arch' },
    });
  });

  it('counts only the dissonant dialogues inside the window, on the injected clock', async () => {
    const clock = new ManualClock('2026-11-30T08:00:00Z');
    harness = await startHarness({ env: ENV, overrides: { clock } });
    tellReaders();
    for (const tag of ['a', 'b']) {
      scriptDissonantRound(harness.emulator, tag);
      await harness.talk(`c-${tag}`, `task ${tag}`);
    }
    // A day and a minute later the first two have left the 24 h window: a third starts nothing.
    await clock.advance(24 * HOUR + 60_000);
    scriptDissonantRound(harness.emulator, 'c');
    await harness.talk('c-c', 'task c');
    expect(await harness.runtime.amendments.active()).toBeUndefined();
    // Two more within the window make three: ALFRED drafts from exactly those.
    await clock.advance(HOUR);
    scriptDissonantRound(harness.emulator, 'd');
    await harness.talk('c-d', 'task d');
    scriptDissonantRound(harness.emulator, 'e');
    harness.emulator.script(ALFRED, [draftAnswer(amendedCodex(harness.codexPath))]);
    harness.emulator.script(BRICK, ['Review.']).script(ROBIN, ['Review.']);
    const ready = nextEvent(harness.runtime, 'proposal_ready');
    await harness.talk('c-e', 'task e');
    const { proposal } = await ready;
    const tasks = proposal.history
      .filter((h) => h.kind === 'evidence')
      .map((h) => /Task: (task \w)/.exec(h.text)?.[1]);
    expect(tasks).toEqual(['task c', 'task d', 'task e']);
    expect(proposal.createdAt).toBe(clock.now());
  });

  it('approves only after the history was opened; rewrites, archives and reloads the codex at once', async () => {
    harness = await startHarness({ env: ENV });
    const before = readFileSync(harness.codexPath, 'utf8');
    await threeDissonantDialogues([draftAnswer(amendedCodex(harness.codexPath))]);
    const amendments = harness.runtime.amendments;

    await expect(amendments.approve('p1', 'arch')).resolves.toMatchObject({
      ok: false,
      code: 'HISTORY_NOT_OPENED',
      reason: expect.stringMatching(/Open the history first/),
    });
    expect(await amendments.openHistory('p1', 'arch')).toMatchObject({
      ok: true,
      proposal: { openedBy: ['arch'] },
    });
    await expect(amendments.approve('p1', 'arch')).resolves.toMatchObject({
      ok: true,
      proposal: { state: 'approved', decidedBy: 'arch', newVersion: 2 },
    });

    const after = readFileSync(harness.codexPath, 'utf8');
    expect(after).toContain(NEW_PRINCIPLE);
    expect(after).toMatch(/^version = 2$/m);
    expect(readFileSync(join(harness.dataDir, 'codex-history', 'codex-v1.toml'), 'utf8')).toBe(before);
    expect(harness.runtime.codex().data.version).toBe(2);
    expect(harness.runtime.personas().get('ROBIN').principles).toContain(NEW_PRINCIPLE);
    expect(await amendments.pausedReason()).toBeNull();

    // The next dialogue speaks under the new principle.
    scriptDissonantRound(harness.emulator, 'next', 0.1);
    await harness.talk('after', 'next task');
    expect(harness.emulator.chats(ROBIN).at(-1)?.messages[0]?.content).toContain(NEW_PRINCIPLE);

    // A second press finds it decided.
    await expect(amendments.approve('p1', 'arch')).resolves.toMatchObject({
      ok: false,
      code: 'ALREADY_DECIDED',
      reason: expect.stringMatching(/already approved/),
    });

    // Rollback goes through the same gate and becomes version 3 with version 1's words.
    const rollback = await amendments.rollback(1, 'arch');
    expect(rollback).toMatchObject({ ok: true, proposal: { id: 'p2', kind: 'rollback', state: 'pending' } });
    expect(rollback.proposal?.diff).toMatch(/^-.*weigh the cost in money/m);
    await amendments.openHistory('p2', 'arch');
    await amendments.approve('p2', 'arch');
    expect(harness.runtime.codex().data.version).toBe(3);
    expect(harness.runtime.personas().get('ROBIN').principles).toContain(OLD_PRINCIPLE);
    expect(readdirSync(join(harness.dataDir, 'codex-history')).sort()).toEqual([
      'codex-v1.toml',
      'codex-v2.toml',
    ]);
  });

  it('feeds a refused draft back to ALFRED: one touching the core, one not parsing, then a good one', async () => {
    harness = await startHarness({ env: ENV });
    const good = amendedCodex(harness.codexPath);
    const touchesCore = good.replace('Cause no harm', 'Cause little harm');
    const broken = good.replace('[personas.ROBIN]', '[personas.ROBIN');

    const { proposal } = await threeDissonantDialogues([
      draftAnswer(touchesCore),
      draftAnswer(broken),
      draftAnswer(good),
    ]);

    expect(proposal.state).toBe('pending');
    const refusals = proposal.history.filter((h) => h.kind === 'refusal').map((h) => h.text);
    expect(refusals).toEqual([
      expect.stringMatching(/\[core\] principles are immutable/),
      expect.stringMatching(/proposal p1:\d+.*TOML syntax/),
    ]);
    const chats = harness.emulator.chats(ALFRED);
    expect(chats.at(-2)?.messages[1]?.content).toMatch(
      /previous draft was refused: .*\[core\] principles are immutable/,
    );
    expect(chats.at(-1)?.messages[1]?.content).toMatch(/previous draft was refused: .*TOML syntax/);
    expect(proposal.newCodex).not.toContain('Cause little harm');
  });

  it('abandons the attempt after three refused drafts and resumes autonomy', async () => {
    harness = await startHarness({ env: ENV });
    const { proposal } = await threeDissonantDialogues(
      ['no codex here', 'still none', 'nothing'],
      'proposal_abandoned',
    );
    expect(proposal).toMatchObject({ state: 'abandoned', reason: expect.stringMatching(/refused 3 times/) });
    expect(await harness.runtime.amendments.pausedReason()).toBeNull();
    expect(readFileSync(harness.codexPath, 'utf8')).toContain(OLD_PRINCIPLE);
    // The abandoned attempt answered its evidence: one more dissonant dialogue does not redraft.
    scriptDissonantRound(harness.emulator, 'd');
    await harness.talk('c-d', 'task d');
    expect(await harness.runtime.amendments.get('p2')).toBeUndefined();
  });

  it('refuses to roll back to a version that no longer passes today’s checks', async () => {
    harness = await startHarness({ env: ENV });
    const tampered = readFileSync(harness.codexPath, 'utf8').replace('Cause no harm', 'Cause some harm');
    mkdirSync(join(harness.dataDir, 'codex-history'), { recursive: true });
    writeFileSync(join(harness.dataDir, 'codex-history', 'codex-v7.toml'), tampered);
    expect(await harness.runtime.amendments.rollback(7, 'arch')).toMatchObject({
      ok: false,
      code: 'CANNOT_RESTORE',
      reason: expect.stringMatching(/Version 7 cannot be restored: .*\[core\] principles are immutable/),
    });
    expect(await harness.runtime.amendments.rollback(1, 'arch')).toMatchObject({
      ok: false,
      code: 'CURRENT_VERSION',
      reason: 'Version 1 is the current codex.',
    });
    expect(await harness.runtime.amendments.pausedReason()).toBeNull();
  });

  it('marks a proposal stale when the codex changed after it was drafted', async () => {
    harness = await startHarness({ env: ENV });
    await threeDissonantDialogues([draftAnswer(amendedCodex(harness.codexPath))]);
    writeFileSync(harness.codexPath, `${readFileSync(harness.codexPath, 'utf8')}\n# edited by hand\n`);
    await harness.runtime.amendments.openHistory('p1', 'arch');

    await expect(harness.runtime.amendments.approve('p1', 'arch')).resolves.toMatchObject({
      ok: false,
      code: 'STALE',
      reason: expect.stringMatching(/stale: the codex changed/),
      proposal: { state: 'stale' },
    });
    expect(readFileSync(harness.codexPath, 'utf8')).toContain('# edited by hand');
    expect(await harness.runtime.amendments.pausedReason()).toBeNull();
  });
});

describe.each(useStoreBackends())('a restart, with the proposals on $name', (backend) => {
  it('keeps a pending proposal across a restart; a draft cut short by one is abandoned', async () => {
    // The same database for both runs: a restarted process (or another host) reads it.
    const { databaseUrl } = await backend.location('unused');
    harness = await startHarness({ env: { ...ENV, ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}) } });
    await threeDissonantDialogues([draftAnswer(amendedCodex(harness.codexPath))]);
    await harness.runtime.close();
    // As if the bot had died while drafting a second one.
    const store = await ProposalStore.open({ dataDir: harness.dataDir, databaseUrl });
    await store.create({
      ...((await store.get('p1')) as Proposal),
      id: 'p2',
      state: 'drafting',
      evidence: [],
    });
    await store.close();

    const restarted = await harness.restart();
    expect(await restarted.amendments.get('p2')).toMatchObject({
      state: 'abandoned',
      reason: expect.stringMatching(/restarted/),
    });
    expect((await restarted.amendments.get('p1'))?.state).toBe('pending');
    expect(await restarted.amendments.pausedReason()).toMatch(/p1/);
    await restarted.amendments.openHistory('p1', 'arch');
    await expect(restarted.amendments.approve('p1', 'arch')).resolves.toMatchObject({ ok: true });
    expect((await restarted.amendments.versions()).map((v) => v.version)).toEqual([1, 2]);
  });
});

describe('two processes on one PostgreSQL', () => {
  const postgres = usePostgres();

  it('a process that starts leaves alone the draft another live process is writing', async () => {
    harness = await startHarness({ env: { ...ENV, DATABASE_URL: await postgres.database() } });
    tellReaders();
    // ALFRED drafts until the test lets him answer.
    let release = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let asked = () => {};
    const drafting = new Promise<void>((resolve) => {
      asked = resolve;
    });
    harness.emulator.respond(async () => {
      asked();
      await released;
      return draftAnswer(amendedCodex(harness.codexPath));
    });
    harness.emulator.script(BRICK, ['Review: logically sound.']).script(ROBIN, ['Review: gentle enough.']);
    const proposed = harness.runtime.amendments.propose('arch', 'ROBIN ignores money');
    await drafting;

    // Another process starts on the same database while the first one drafts.
    const other = await harness.restart();
    expect(await other.amendments.get('p1')).toMatchObject({ state: 'drafting' });
    expect(await other.amendments.pausedReason()).toBe('proposal p1 is being drafted');

    release();
    expect(await proposed).toMatchObject({ ok: true, proposal: { id: 'p1', state: 'pending' } });
    expect(await other.amendments.get('p1')).toMatchObject({
      state: 'pending',
      title: 'ROBIN weighs costs too',
    });
  });
});

describe('a proposal’s evidence, judged for its readers when it is drafted', () => {
  const SECRET = 'the board meets at the lake house to plan the merger with Acme';
  const inBoard = { guildId: 'g', channelId: 'board', visibility: 'restricted' as const };
  const inPublic = { guildId: 'g', channelId: 'public', visibility: 'public' as const };

  /** Dialogue a in #board (with the secret in its task), b and c in #public; c triggers the draft. */
  async function boardAndPublic(drafts: string[], reviews: [string, string]) {
    scriptDissonantRound(harness.emulator, 'a');
    await harness.talk('c-a', `task a: ${SECRET}`, inBoard);
    scriptDissonantRound(harness.emulator, 'b');
    await harness.talk('c-b', 'task b', inPublic);
    scriptDissonantRound(harness.emulator, 'c');
    harness.emulator.script(ALFRED, drafts);
    harness.emulator.script(BRICK, [reviews[0]]).script(ROBIN, [reviews[1]]);
    const ready = nextEvent(harness.runtime, 'proposal_ready');
    await harness.talk('c-c', 'task c', inPublic);
    return (await ready).proposal;
  }

  it('gives ALFRED only what its readers may read; a draft or review repeating the rest never gets out', async () => {
    harness = await startHarness({ env: ENV });
    tellReaders(['public']);
    const good = draftAnswer(amendedCodex(harness.codexPath));
    const quoting = good.replace('RATIONALE: ', `RATIONALE: As was said, “${SECRET}”. `);

    const proposal = await boardAndPublic([quoting, good], [`Careful: ${SECRET}.`, 'Review: gentle.']);

    // The draft prompts: #public's dialogues word for word, #board's by its date and dissonance.
    const prompts = harness.emulator.chats(ALFRED).slice(-2);
    for (const chat of prompts) {
      const prompt = chat.messages[1]?.content ?? '';
      expect(prompt).not.toContain('lake house');
      expect(prompt).toContain('Task: task b');
      expect(prompt).toMatch(/Dialogue 1 of 3 — .* — dissonance 0\.90\n\(Held where the readers/);
    }
    expect(proposal).toMatchObject({ state: 'pending', draftedFor: 'governance' });
    expect(proposal.history.filter((h) => h.kind === 'evidence')).toMatchObject([
      { shown: false, text: '' },
      { shown: true, text: expect.stringContaining('Task: task b') },
      { shown: true, text: expect.stringContaining('Task: task c') },
    ]);
    // The quoting draft was refused, BRICK's quoting review withheld: nothing stored holds the secret.
    expect(proposal.history.map((h) => h.title)).toEqual(
      expect.arrayContaining(["ALFRED's draft 1 was refused", "BRICK's review is withheld"]),
    );
    expect(JSON.stringify(proposal).toLowerCase()).not.toContain('lake house');
    expect(JSON.stringify(await harness.runtime.amendments.get('p1'))).not.toContain('lake house');
  });

  it('withholds every dialogue’s words while nobody has said who the readers are', async () => {
    harness = await startHarness({ env: ENV });
    const proposal = await boardAndPublic(
      [draftAnswer(amendedCodex(harness.codexPath))],
      ['Sound.', 'Kind.'],
    );
    const prompt = harness.emulator.chats(ALFRED).at(-1)?.messages[1]?.content ?? '';
    expect(prompt).not.toContain('task b');
    expect(prompt).not.toContain('lake house');
    expect(proposal.draftedFor).toBeUndefined();
    expect(proposal.history.filter((h) => h.kind === 'evidence').map((h) => [h.shown, h.text])).toEqual([
      [false, ''],
      [false, ''],
      [false, ''],
    ]);
  });

  it('forgets a dialogue’s words in every proposal that cites it, keeping that it was there', async () => {
    harness = await startHarness({ env: ENV });
    tellReaders();
    // ALFRED quotes the #board dialogue, which its readers may read here.
    const quoting = draftAnswer(amendedCodex(harness.codexPath)).replace(
      'RATIONALE: ',
      `RATIONALE: As was said, “${SECRET}”. `,
    );
    const proposal = await boardAndPublic([quoting], ['Sound.', 'Kind.']);
    expect(proposal.rationale).toContain('lake house');
    const forgotten = proposal.history.find((h) => h.kind === 'evidence')?.recordId ?? '';

    expect(await harness.runtime.amendments.forgetEvidence([forgotten])).toEqual(['p1']);

    const after = await harness.runtime.amendments.get('p1');
    expect(after?.history.filter((h) => h.kind === 'evidence')).toMatchObject([
      {
        recordId: forgotten,
        shown: false,
        forgotten: true,
        text: '',
        title: expect.stringMatching(/^Dialogue 1 of 3/),
      },
      { shown: true, text: expect.stringContaining('Task: task b') },
      { shown: true, text: expect.stringContaining('Task: task c') },
    ]);
    expect(after?.rationale).toMatch(/^As was said, “\[…\]/);
    expect(after?.evidence).toContain(forgotten);
    expect(JSON.stringify(after)).not.toContain('lake house');
    // Forgetting again, or a dialogue no proposal cites, changes nothing.
    expect(await harness.runtime.amendments.forgetEvidence([forgotten, 'nothing'])).toEqual([]);
  });
});
