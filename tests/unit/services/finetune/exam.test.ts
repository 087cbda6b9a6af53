import { readFileSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type GoldenSample,
  goldenPaths,
  isHeldOut,
  readSamples,
  snapshotDataset,
} from '../../../../src/services/finetune/datasetSnapshot.ts';
import {
  type DrawOptions,
  drawExam,
  examPath,
  examPrompts,
  promptOf,
  readExam,
  tooSmall,
} from '../../../../src/services/finetune/exam.ts';
import { GENERAL_EXAM } from '../../../../src/services/finetune/generalExam.ts';
import { writeGolden } from '../../../support/finetuneScripts.ts';
import { tempFolders } from '../../../support/fixtures.ts';

const folders = tempFolders();
afterEach(() => folders.cleanup());

const GENERAL = [
  { messages: [{ role: 'user' as const, content: 'Explain tides.' }] },
  { messages: [{ role: 'user' as const, content: 'What is 17 × 23?' }] },
];

/** A data folder whose ROBIN has `count` golden samples. */
function dataWith(count: number): string {
  const dataDir = folders.folder();
  writeGolden(dataDir, 'ROBIN', count);
  return dataDir;
}

const draw = (dataDir: string, change: Partial<DrawOptions> = {}) =>
  drawExam({
    dataDir,
    persona: 'ROBIN',
    holdoutShare: 0.5,
    size: 4,
    rule: 'lower-bound',
    by: 'ft1',
    at: Date.UTC(2026, 11, 1),
    general: GENERAL,
    ...change,
  });

const userOf = (messages: ReadonlyArray<{ role: string; content: string }>) =>
  messages.find((m) => m.role === 'user')?.content;
const golden = (dataDir: string) => readSamples(goldenPaths(dataDir, 'ROBIN').golden);

describe('a persona’s frozen exam', () => {
  it('fixes the held-out prompts the first time they are drawn, with the general set, and keeps them', async () => {
    const dataDir = dataWith(24);
    const first = await draw(dataDir);
    const heldOut = golden(dataDir).filter((s) => isHeldOut(s, 0.5));
    expect(first.heldOut.map((e) => userOf(e.messages))).toEqual(
      heldOut.slice(0, 4).map((s) => userOf(s.messages)),
    );
    expect(first.heldOut[0]).toMatchObject({
      source: 'held-out',
      added_by: 'ft1',
      added_at: '2026-12-01T00:00:00.000Z',
      interaction_id: expect.stringMatching(/^r\d+$/),
    });
    // The prompt only: the answer it was curated with is not the exam's business.
    expect(first.heldOut[0]?.messages.map((m) => m.role)).toEqual(['system', 'user']);
    expect(first.general.map((e) => userOf(e.messages))).toEqual(['Explain tides.', 'What is 17 × 23?']);
    expect(first.summary).toMatchObject({ prompts: 4, general: 2, appended: 6, withdrawn: 0, fewest: 4 });
    expect(first.summary.smallestShare).toBe(1);

    const text = readFileSync(examPath(dataDir, 'ROBIN'), 'utf8');
    const again = await draw(dataDir, { by: 'ft2' });
    expect(again.summary).toMatchObject({ hash: first.summary.hash, appended: 0, withdrawn: 0 });
    expect(readFileSync(examPath(dataDir, 'ROBIN'), 'utf8')).toBe(text);
  });

  it('grows only by appending: up to FINETUNE_EVAL_PROMPTS, and with general prompts the project adds', async () => {
    const dataDir = dataWith(24);
    const first = await draw(dataDir, { size: 2 });
    writeGolden(dataDir, 'ROBIN', 24, 100);
    const grown = await draw(dataDir, {
      size: 30,
      by: 'ft2',
      general: [...GENERAL, { messages: [{ role: 'user', content: 'Name three rivers.' }] }],
    });
    const entries = readExam(examPath(dataDir, 'ROBIN'));
    // The first job's entries come first, unchanged; the rest were appended after them.
    expect(entries.slice(0, first.heldOut.length + first.general.length)).toEqual([
      ...first.heldOut,
      ...first.general,
    ]);
    const heldOut = golden(dataDir).filter((s) => isHeldOut(s, 0.5));
    expect(grown.heldOut).toHaveLength(heldOut.length);
    expect(grown.heldOut.slice(0, 2)).toEqual(first.heldOut);
    expect(grown.general.map((e) => userOf(e.messages))).toEqual([
      'Explain tides.',
      'What is 17 × 23?',
      'Name three rivers.',
    ]);
    expect(
      entries.slice(first.heldOut.length + first.general.length).every((e) => e.added_by === 'ft2'),
    ).toBe(true);
    expect(grown.summary.hash).not.toBe(first.summary.hash);

    // A general prompt the project later drops stays in the exam: it is frozen.
    const kept = await draw(dataDir, { size: 30, by: 'ft3', general: [] });
    expect(kept.general).toHaveLength(3);
    expect(kept.summary.hash).toBe(grown.summary.hash);
  });

  it('judges the first FINETUNE_EVAL_PROMPTS when lowered, and still never trains on the others', async () => {
    const dataDir = dataWith(24);
    const wide = await draw(dataDir, { size: 6 });
    const narrow = await draw(dataDir, { size: 4 });
    expect(narrow.heldOut).toEqual(wide.heldOut.slice(0, 4));
    expect(readExam(examPath(dataDir, 'ROBIN')).filter((e) => e.source === 'held-out')).toHaveLength(6);
    for (const entry of wide.heldOut)
      expect(narrow.excludes({ messages: [...entry.messages, { role: 'assistant', content: 'x' }] })).toBe(
        true,
      );
  });

  it('keeps its prompts out of every later training set, whatever FINETUNE_HOLDOUT says then', async () => {
    const dataDir = dataWith(24);
    const exam = await draw(dataDir, { size: 6 });
    // A sample asking an exam prompt with another answer is out too: its prompt is the exam's.
    const asked = exam.heldOut[0]?.messages ?? [];
    writeFileSync(
      goldenPaths(dataDir, 'ROBIN').golden,
      `${JSON.stringify({ messages: [...asked, { role: 'assistant', content: 'Another answer.\nDISSONANCE: 0.4' }] })}\n`,
      { flag: 'a' },
    );
    const folder = folders.folder();
    // Almost nothing is held out by hash any more: the exam's samples still are.
    const snapshot = await snapshotDataset({
      dataDir,
      persona: 'ROBIN',
      folder,
      holdoutShare: 0.001,
      exclude: (await draw(dataDir, { size: 6, holdoutShare: 0.001 })).excludes,
      // The exam is under test, not the scope or the member share.
      policy: { scope: 'all', memberShare: 1 },
    });
    const trained = readSamples(snapshot.trainPath).map((s) => JSON.stringify(promptOf(s)));
    for (const entry of exam.heldOut) expect(trained).not.toContain(JSON.stringify(entry.messages));
    expect(snapshot.holdout.length).toBeGreaterThanOrEqual(7);
    expect(snapshot.train + snapshot.holdout.length).toBe(25);
  });

  it('never draws from the anchor set, which is always trained on', async () => {
    const dataDir = dataWith(24);
    const paths = goldenPaths(dataDir, 'ROBIN');
    const lines = readFileSync(paths.golden, 'utf8').split('\n').filter(Boolean);
    writeFileSync(paths.anchor, `${lines.slice(0, 12).join('\n')}\n`);
    const anchored = new Set(
      lines.slice(0, 12).map((line) => userOf((JSON.parse(line) as GoldenSample).messages)),
    );
    const exam = await draw(dataDir, { size: 20 });
    expect(exam.heldOut.length).toBeGreaterThan(0);
    expect(exam.heldOut.some((e) => anchored.has(userOf(e.messages)))).toBe(false);
  });

  it('withdraws a prompt whose sample left the golden set (forgotten), and grows back from the held-out samples', async () => {
    const dataDir = dataWith(24);
    const first = await draw(dataDir, { size: 3 });
    const gone = userOf(first.heldOut[1]?.messages ?? []);
    const path = goldenPaths(dataDir, 'ROBIN').golden;
    const lines = readFileSync(path, 'utf8').split('\n').filter(Boolean);
    writeFileSync(
      path,
      `${lines.filter((line) => !line.includes(JSON.stringify(gone).slice(1, -1))).join('\n')}\n`,
    );

    const after = await draw(dataDir, { size: 3, by: 'ft2' });
    expect(after.summary).toMatchObject({ withdrawn: 1, appended: 1, prompts: 3 });
    expect(after.heldOut.slice(0, 2)).toEqual([first.heldOut[0], first.heldOut[2]]);
    expect(readFileSync(examPath(dataDir, 'ROBIN'), 'utf8')).not.toContain(gone);
  });

  it('puts the persona’s system prompt in force before each general prompt', async () => {
    const exam = await draw(dataWith(24));
    const prompts = examPrompts(exam, 'You are ROBIN, today.');
    expect(prompts.general[0]).toEqual([
      { role: 'system', content: 'You are ROBIN, today.' },
      { role: 'user', content: 'Explain tides.' },
    ]);
    expect(prompts.heldOut[0]).toEqual(exam.heldOut[0]?.messages);
  });

  it('ships a general set of distinct requests', () => {
    expect(GENERAL_EXAM.length).toBeGreaterThanOrEqual(10);
    expect(new Set(GENERAL_EXAM.map((p) => p.messages[0]?.content)).size).toBe(GENERAL_EXAM.length);
  });

  it('says plainly when the exam is too small for the rule, and what to do', async () => {
    const settings = { rule: 'lower-bound' as const, holdout: 0.1, evalPrompts: 20 };
    const small = await draw(dataWith(2));
    expect(small.summary.prompts).toBeLessThan(4);
    expect(small.summary.smallestShare).toBeUndefined();
    expect(tooSmall('ROBIN', small.summary, settings)).toMatch(
      /^ROBIN's exam holds \d held-out prompts?: with FINETUNE_PROMOTE_RULE=lower-bound a candidate can only be promoted on 4 or more, even if it wins every one\. Nothing was trained\. It grows as the golden set does .*wait for more golden samples, raise FINETUNE_HOLDOUT, or set FINETUNE_PROMOTE_RULE=majority\.$/,
    );
    const capped = await draw(dataWith(24), { size: 3 });
    expect(tooSmall('ROBIN', capped.summary, { ...settings, evalPrompts: 3 })).toMatch(
      /holds 3 held-out prompts: .* FINETUNE_EVAL_PROMPTS=3 keeps the exam below that: raise it to 4 or more\.$/,
    );
    expect(tooSmall('ROBIN', (await draw(dataWith(24))).summary, settings)).toBeUndefined();
  });
});
