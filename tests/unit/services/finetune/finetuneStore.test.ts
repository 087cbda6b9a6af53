import { afterEach, describe, expect, it } from 'vitest';
import { type FinetuneJob, FinetuneStore } from '../../../../src/services/finetune/finetuneStore.ts';
import { tempFolders } from '../../../support/fixtures.ts';

const folders = tempFolders();
afterEach(() => folders.cleanup());

const fields = (persona: string, at: number): Omit<FinetuneJob, 'id'> => ({
  persona,
  trigger: 'command',
  requestedBy: 'ada',
  state: 'running',
  stage: 'snapshot',
  base: 'unsloth/base',
  fromModel: 'robin:test',
  startedAt: at,
  updatedAt: at,
  losses: [],
});

describe('the fine-tune store', () => {
  it('begins one job at a time, and the GPU lock survives a reopen', () => {
    const dir = folders.folder();
    const store = new FinetuneStore(dir);
    const first = store.begin(fields('ROBIN', 1));
    expect(first).toMatchObject({ ok: true, job: { id: 'ft1' } });
    store.close();

    const again = new FinetuneStore(dir);
    expect(again.begin(fields('BRICK', 2))).toMatchObject({ ok: false, running: { id: 'ft1' } });
    again.update('ft1', () => ({ state: 'failed', stage: 'done' }), 3);
    expect(again.running()).toBeUndefined();
    expect(again.begin(fields('BRICK', 4))).toMatchObject({ ok: true, job: { id: 'ft2' } });
    expect(again.list().map((j) => j.id)).toEqual(['ft2', 'ft1']);
    expect(again.list(20, 'ROBIN').map((j) => [j.id, j.state, j.updatedAt])).toEqual([['ft1', 'failed', 3]]);
    expect(() => again.update('ft9', () => ({}), 5)).toThrow('no fine-tune job ft9');
    again.close();
  });

  it('keeps every version with its evaluation, and flips the model in force with the job in one write', () => {
    const store = new FinetuneStore(folders.folder());
    const begun = store.begin(fields('ROBIN', 1));
    if (!begun.ok) throw new Error('not begun');
    expect(store.nextVersion('ROBIN')).toBe(1);
    const version = {
      persona: 'ROBIN',
      version: 1,
      model: 'batos-robin-v1',
      base: 'unsloth/base',
      fromModel: 'robin:test',
      jobId: 'ft1',
      datasetHash: 'abc',
      samples: 10,
      createdAt: 2,
    };
    store.addVersion(version);
    expect(() => store.addVersion(version)).toThrow();
    const evaluation = {
      prompts: 4,
      wins: 3,
      losses: 0,
      ties: 1,
      score: 0.875,
      lowerBound: 0.5,
      formatCandidate: 4,
      formatIncumbent: 4,
      rule: 'majority' as const,
      better: true,
      verdict: 'better',
    };
    store.setVersionEvaluation('ROBIN', 1, evaluation);
    expect(store.versions('ROBIN')).toEqual([{ ...version, evaluation }]);
    expect(store.nextVersion('ROBIN')).toBe(2);

    store.activate(
      { persona: 'ROBIN', version: 1, model: 'batos-robin-v1', since: 3, by: 'system' },
      { id: 'ft1', change: { state: 'promoted', stage: 'done' }, at: 3 },
    );
    expect(store.active('ROBIN')).toMatchObject({ version: 1, model: 'batos-robin-v1' });
    expect(store.get('ft1')).toMatchObject({ state: 'promoted', updatedAt: 3 });
    expect(store.active('BRICK')).toBeUndefined();
    store.close();
  });
});
