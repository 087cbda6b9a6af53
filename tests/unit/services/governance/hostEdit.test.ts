import { lstatSync, mkdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { adoptHostEdit } from '../../../../src/services/governance/hostEdit.ts';
import { newProposalRecord } from '../../../../src/services/governance/proposalStateMachine.ts';
import { tempFolders } from '../../../support/fixtures.ts';
import { governanceWorld } from './fakes.ts';

const { folder, cleanup } = tempFolders();
afterEach(cleanup);

async function withCodexInForce() {
  const world = governanceWorld(folder());
  await world.store.addVersion({ version: 1, hash: world.codex().hash, at: 0 });
  return world;
}

describe('an edit of the codex on the host', () => {
  it('is adopted under the next version, written back when the operator kept the number', async () => {
    const world = await withCodexInForce();
    const before = world.codex().source;
    const edited = before.replace('Disagree kindly', 'Disagree gently');
    // As the watcher hands it over: the text it read from the file.
    writeFileSync(world.codexPath, edited);
    await world.clock.advance(1_000);

    expect(await adoptHostEdit(world, edited)).toEqual({ ok: true, version: 2 });

    expect(readFileSync(world.codexPath, 'utf8')).toMatch(/^version = 2$/m);
    expect(world.codex().data.version).toBe(2);
    expect(world.codex().source).toContain('Disagree gently');
    const archived = join(world.dataDir, 'codex-history', 'codex-v1.toml');
    expect(readFileSync(archived, 'utf8')).toBe(before);
    expect((await world.store.versions()).at(-1)).toEqual({
      version: 2,
      hash: world.codex().hash,
      approvedBy: 'host',
      at: world.clock.now(),
      archivedPrevious: archived,
    });
    expect(world.events).toEqual([['codex_edited', { version: 2 }]]);
  });

  it('writes nothing back over a newer save, and adopts nothing until the watcher brings it', async () => {
    const world = await withCodexInForce();
    const before = world.codex().source;
    // The watcher read this edit (the version kept: it would be written back as version 2)…
    const read = before.replace('Disagree kindly', 'Disagree gently');
    // …and the operator saved again before it was adopted.
    const newer = before.replace('Disagree kindly', 'Disagree very gently');
    writeFileSync(world.codexPath, newer);

    expect(await adoptHostEdit(world, read)).toEqual({ ok: false, code: 'CHANGED' });

    expect(readFileSync(world.codexPath, 'utf8')).toBe(newer);
    expect(world.codex().source).toBe(before);
    expect((await world.store.versions()).map((v) => v.version)).toEqual([1]);
    expect(world.events).toEqual([]);
    // The newer save, as the watcher hands it over next, is adopted and written back.
    expect(await adoptHostEdit(world, newer)).toEqual({ ok: true, version: 2 });
    expect(readFileSync(world.codexPath, 'utf8')).toContain('Disagree very gently');
  });

  it('writes the version back through a codex link, keeping the link', async () => {
    const world = await withCodexInForce();
    const real = join(world.dataDir, 'mounted', 'codex.toml');
    mkdirSync(join(world.dataDir, 'mounted'));
    renameSync(world.codexPath, real);
    symlinkSync(real, world.codexPath);
    const edited = world.codex().source.replace('Disagree kindly', 'Disagree gently');
    writeFileSync(real, edited);

    expect(await adoptHostEdit(world, edited)).toEqual({ ok: true, version: 2 });

    expect(lstatSync(world.codexPath).isSymbolicLink()).toBe(true);
    expect(readFileSync(real, 'utf8')).toMatch(/^version = 2$/m);
  });

  it('keeps a version the operator raised, and makes the pending proposal stale', async () => {
    const world = await withCodexInForce();
    await world.store.create({
      ...newProposalRecord(
        { kind: 'amendment', requestedBy: 'system' },
        { id: 'p1', codex: world.codex(), at: world.clock.now() },
      ),
      state: 'pending',
    });
    const raised = world.codex().source.replace(/^version = 1$/m, 'version = 5');
    const outcome = await adoptHostEdit(world, raised);
    expect(outcome).toMatchObject({
      ok: true,
      version: 5,
      stale: { id: 'p1', state: 'stale', reason: 'the codex was edited on the host after it was drafted' },
    });
    expect(readFileSync(world.codexPath, 'utf8')).toMatch(/^version = 1$/m);
    expect(await world.store.active()).toBeUndefined();
  });

  it('is refused with file, line and problem; the old codex stays in force', async () => {
    const world = await withCodexInForce();
    const broken = world.codex().source.replace('[personas.ROBIN]', '[personas.ROBIN');
    const outcome = await adoptHostEdit(world, broken);
    expect(outcome).toMatchObject({
      ok: false,
      code: 'INVALID',
      problems: [expect.stringMatching(new RegExp(`^${world.codexPath}:\\d+: TOML syntax`))],
    });
    expect(world.codex().data.version).toBe(1);
    // The operator hears of the same problems.
    expect(world.events).toEqual([
      ['codex_refused', { problems: 'problems' in outcome ? outcome.problems : [] }],
    ]);
  });

  it('changes nothing when the text is the codex in force', async () => {
    const world = await withCodexInForce();
    expect(await adoptHostEdit(world, world.codex().source)).toEqual({ ok: false, code: 'UNCHANGED' });
    expect(world.events).toEqual([]);
  });
});
