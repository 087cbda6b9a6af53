import { readFileSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { draftAmendment, REPEATS_WITHHELD } from '../../../../src/services/governance/amendmentDrafting.ts';
import { type EvidenceReaders, NO_READERS } from '../../../../src/services/governance/evidence.ts';
import { adoptHostEdit } from '../../../../src/services/governance/hostEdit.ts';
import { newProposalRecord } from '../../../../src/services/governance/proposalStateMachine.ts';
import type { StoredRecord } from '../../../../src/services/memory/interactionLog.ts';
import { REAL_CODEX_PATH, tempFolders } from '../../../support/fixtures.ts';
import { dialogue, governanceReaders, governanceWorld, scriptedModels } from './fakes.ts';

const OLD_PRINCIPLE = 'Disagree kindly, and say how much you disagree.';
const NEW_PRINCIPLE = 'Disagree kindly, and weigh the cost.';
/** The shipped codex (the world's codex is a copy) with the ROBIN principle amended. */
const amended = readFileSync(REAL_CODEX_PATH, 'utf8').replace(OLD_PRINCIPLE, NEW_PRINCIPLE);
const { folder, cleanup } = tempFolders();
afterEach(cleanup);

/** ALFRED's answer in the form the loop reads. */
const answer = (codex: string, title = 'ROBIN weighs costs too') =>
  [
    `TITLE: ${title}`,
    'PRINCIPLES:',
    `- ROBIN: "${OLD_PRINCIPLE}" → "${NEW_PRINCIPLE}"`,
    'RATIONALE: ROBIN never weighed the cost.',
    'CONSEQUENCES: ROBIN will name costs.',
    '```toml',
    codex.trim(),
    '```',
  ].join('\n');

/**
 * A world with p1 drafting, for the governance channel's readers (`readers`; `nobody`: for no
 * channel's), from three dissonant dialogues (or `records`, given each its time), and models
 * that answer from `script`.
 */
async function drafting(
  script: Record<string, Array<string | Error>>,
  options: { records?: StoredRecord[]; readers?: EvidenceReaders; nobody?: boolean } = {},
) {
  const world = governanceWorld(folder());
  const { modelFor, asked } = scriptedModels(script);
  const closing = new AbortController();
  const deps = {
    ...world,
    modelFor,
    systemPrompt: (persona: string) => `You are ${persona}.`,
    settings: { maxAttempts: 3 },
    signal: closing.signal,
    ...(options.readers ? { readers: () => options.readers as EvidenceReaders } : {}),
  };
  const now = world.clock.now();
  const records = options.records ?? ['a', 'b', 'c'].map((id) => dialogue(id, 0.9, 0));
  const evidence = records.map((r, i) => ({ ...r, finishedAt: now - (records.length - i) * 60_000 }));
  const proposal = await world.store.create(
    newProposalRecord(
      {
        kind: 'amendment',
        requestedBy: 'system',
        evidence: evidence.map((r) => r.id),
        ...(options.nobody ? {} : { draftedFor: 'governance' }),
      },
      { id: 'p1', codex: world.codex(), at: now },
    ),
  );
  return { deps, world, asked, closing, proposal, evidence };
}

describe('drafting an amendment', () => {
  it('feeds refused drafts back to ALFRED, then makes the one that passes pending with both reviews', async () => {
    const touchesCore = amended.replace('Cause no harm', 'Cause little harm');
    const { deps, world, asked, proposal, evidence } = await drafting({
      ALFRED: ['no codex at all', answer(touchesCore), answer(amended)],
      BRICK: ['Sound.'],
      ROBIN: ['Gentle.'],
    });

    const ready = await draftAmendment(deps, proposal, evidence);

    expect(ready).toMatchObject({
      state: 'pending',
      title: 'ROBIN weighs costs too',
      newCodex: `${amended.trim()}\n`,
      rationale: 'ROBIN never weighed the cost.',
    });
    expect(ready.diff).toMatch(/^\+.*weigh the cost\./m);
    expect(ready.history.map((h) => [h.kind, h.title])).toEqual([
      ['evidence', expect.stringMatching(/^Dialogue 1 of 3/)],
      ['evidence', expect.stringMatching(/^Dialogue 2 of 3/)],
      ['evidence', expect.stringMatching(/^Dialogue 3 of 3/)],
      ['refusal', "ALFRED's draft 1 was refused"],
      ['refusal', "ALFRED's draft 2 was refused"],
      ['draft', "ALFRED's draft 3: ROBIN weighs costs too"],
      ['review', "BRICK's review"],
      ['review', "ROBIN's review"],
    ]);
    expect(ready.history[3]?.text).toBe('Problems: there is no ```toml block with the whole amended codex');
    expect(ready.history[4]?.text).toMatch(
      /^ROBIN weighs costs too\nProblems: .*\[core\] principles are immutable/,
    );
    const prompts = asked.filter((a) => a.persona === 'ALFRED').map((a) => a.messages[1]?.content ?? '');
    expect(prompts[0]).not.toContain('previous draft was refused');
    expect(prompts[1]).toContain('previous draft was refused: there is no ```toml block');
    expect(prompts[2]).toMatch(/previous draft was refused: .*\[core\] principles are immutable/);
    expect(world.events).toEqual([['proposal_ready', { proposal: ready }]]);
    expect(await world.store.get('p1')).toEqual(ready);
  });

  it('abandons the attempt after every draft was refused, and says why', async () => {
    const { deps, world, proposal, evidence } = await drafting({ ALFRED: ['one', 'two', 'three'] });
    const abandoned = await draftAmendment(deps, proposal, evidence, 'be briefer');
    expect(abandoned).toMatchObject({
      state: 'abandoned',
      reason: "ALFRED's drafts were refused 3 times: there is no ```toml block with the whole amended codex",
    });
    expect(abandoned.history.filter((h) => h.kind === 'refusal')).toHaveLength(3);
    expect(abandoned.history.find((h) => h.kind === 'note')).toMatchObject({ text: 'be briefer' });
    expect(world.events).toEqual([['proposal_abandoned', { proposal: abandoned }]]);
  });

  it('keeps a note where a review failed, and still makes the proposal pending', async () => {
    const { deps, proposal, evidence } = await drafting({
      ALFRED: [answer(amended)],
      BRICK: [new Error('model down')],
      ROBIN: ['Gentle.'],
    });
    const ready = await draftAmendment(deps, proposal, evidence);
    expect(ready.state).toBe('pending');
    expect(ready.history.slice(-2)).toMatchObject([
      { kind: 'note', title: 'BRICK could not review it', text: 'model down' },
      { kind: 'review', title: "ROBIN's review", text: 'Gentle.' },
    ]);
  });

  it('keeps the proposal stale when the codex is edited on the host while ALFRED drafts', async () => {
    const { deps, world, proposal, evidence } = await drafting({
      ALFRED: [answer(amended)],
      BRICK: ['Sound.'],
      ROBIN: ['Gentle.'],
    });
    const edited = world.codex().source.replace('Disagree kindly', 'Disagree gently');
    // The operator saves an edit while BRICK reviews the draft.
    const modelFor: typeof deps.modelFor = (persona) => {
      const model = deps.modelFor(persona);
      return {
        model: model.model,
        invoke: async (messages, options) => {
          if (persona === 'BRICK') {
            writeFileSync(world.codexPath, edited);
            expect(await adoptHostEdit(world, edited)).toMatchObject({ ok: true, version: 2 });
          }
          return model.invoke(messages, options);
        },
      };
    };

    const after = await draftAmendment({ ...deps, modelFor }, proposal, evidence);

    expect(after).toMatchObject({
      state: 'stale',
      reason: 'the codex was edited on the host after it was drafted',
    });
    expect((await world.store.get('p1'))?.state).toBe('stale');
    expect(await world.store.active()).toBeUndefined();
    // Nothing is offered to the architect: only the edit on the host was told.
    expect(world.events.map(([type]) => type)).toEqual(['codex_edited']);
  });

  it('abandons the draft when it is stopped (shutting down)', async () => {
    const { deps, world, closing, proposal, evidence } = await drafting({ ALFRED: ['never read'] });
    closing.abort(new Error('shutting down'));
    const abandoned = await draftAmendment(deps, proposal, evidence);
    expect(abandoned).toMatchObject({ state: 'abandoned', reason: 'drafting failed: shutting down' });
    expect(await world.store.active()).toBeUndefined();
  });
});

describe('drafting for the governance channel’s readers', () => {
  const SECRET = 'the board meets at the lake house to plan the merger with Acme';
  /** Two dialogues: one in #board (its readers may not read it), one in #public. */
  const records = (): StoredRecord[] => [
    { ...dialogue('a', 0.95, 0), channelId: 'board', task: `Should we tell them? ${SECRET}.` },
    { ...dialogue('b', 0.9, 0), channelId: 'public' },
  ];
  const readers = governanceReaders(['public']);

  it('gives ALFRED the words of readable evidence only, and stores what may be shown with each', async () => {
    const { deps, asked, proposal, evidence } = await drafting(
      { ALFRED: [answer(amended)], BRICK: ['Sound.'], ROBIN: ['Gentle.'] },
      { records: records(), readers },
    );
    const ready = await draftAmendment(deps, proposal, evidence);

    const prompt = asked.find((a) => a.persona === 'ALFRED')?.messages[1]?.content ?? '';
    expect(prompt).not.toContain('lake house');
    expect(prompt).not.toContain('thesis a');
    expect(prompt).toMatch(/Dialogue 1 of 2 — .* UTC — dissonance 0\.95\n\(Held where the readers/);
    expect(prompt).toContain('Task: task b');
    expect(prompt).toContain('antithesis b');
    const stored = ready.history.filter((h) => h.kind === 'evidence');
    expect(stored).toMatchObject([
      { recordId: 'a', shown: false, text: '' },
      { recordId: 'b', shown: true, text: expect.stringContaining('Task: task b') },
    ]);
    expect(JSON.stringify(ready)).not.toContain('lake house');
  });

  it('withholds every word when nobody says who the readers are (no bot)', async () => {
    const { deps, asked, proposal, evidence } = await drafting(
      { ALFRED: [answer(amended)], BRICK: ['Sound.'], ROBIN: ['Gentle.'] },
      { records: records(), readers: NO_READERS, nobody: true },
    );
    const ready = await draftAmendment(deps, proposal, evidence);
    const prompt = asked.find((a) => a.persona === 'ALFRED')?.messages[1]?.content ?? '';
    expect(prompt).not.toContain('task b');
    expect(ready.history.filter((h) => h.kind === 'evidence').map((h) => [h.shown, h.text])).toEqual([
      [false, ''],
      [false, ''],
    ]);
  });

  it('refuses a draft that repeats a withheld dialogue, and withholds a review that does', async () => {
    const quoting = answer(amended).replace(
      'RATIONALE: ROBIN never weighed the cost.',
      `RATIONALE: As someone said, ${SECRET.toUpperCase()}.`,
    );
    const { deps, asked, proposal, evidence } = await drafting(
      {
        ALFRED: [quoting, answer(amended)],
        BRICK: [`Careful: ${SECRET}, they said.`],
        ROBIN: ['Gentle.'],
      },
      { records: records(), readers },
    );
    const ready = await draftAmendment(deps, proposal, evidence);

    expect(ready.state).toBe('pending');
    expect(ready.rationale).toBe('ROBIN never weighed the cost.');
    expect(ready.history.map((h) => [h.kind, h.title, h.text])).toEqual([
      ['evidence', expect.any(String), ''],
      ['evidence', expect.any(String), expect.stringContaining('task b')],
      ['refusal', "ALFRED's draft 1 was refused", `Problems: ${REPEATS_WITHHELD}`],
      ['draft', "ALFRED's draft 2: ROBIN weighs costs too", expect.any(String)],
      ['note', "BRICK's review is withheld", expect.stringMatching(/may not read/)],
      ['review', "ROBIN's review", 'Gentle.'],
    ]);
    // Fed back to ALFRED without the words it repeated.
    const second = asked.filter((a) => a.persona === 'ALFRED')[1]?.messages[1]?.content ?? '';
    expect(second).toContain(`previous draft was refused: ${REPEATS_WITHHELD}`);
    expect(JSON.stringify(ready).toLowerCase()).not.toContain('lake house');
  });

  it('counts words the readers may read anyway (the codex, a readable dialogue) as no quote', async () => {
    const inCodex = `${OLD_PRINCIPLE} And so on, and so forth, as the codex says.`;
    const { deps, proposal, evidence } = await drafting(
      {
        ALFRED: [answer(amended).replace('RATIONALE: ', `RATIONALE: "${OLD_PRINCIPLE}" `)],
        BRICK: ['Sound.'],
        ROBIN: ['Gentle.'],
      },
      { records: [{ ...records()[0]!, task: inCodex }, records()[1]!], readers },
    );
    const ready = await draftAmendment(deps, proposal, evidence);
    expect(ready.state).toBe('pending');
    expect(ready.history.filter((h) => h.kind === 'refusal')).toEqual([]);
  });
});
