import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createEventBus } from '../../../../src/services/eventBus.ts';
import { type FinetuneJob, FinetuneStore } from '../../../../src/services/finetune/finetuneStore.ts';
import { forgetInDatasets } from '../../../../src/services/finetune/forgottenDatasets.ts';
import { JobProgress } from '../../../../src/services/finetune/jobProgress.ts';
import { decide } from '../../../../src/services/finetune/runJob.ts';
import { forgottenOf } from '../../../../src/services/forgetting/forgotten.ts';
import { createSilentLogger } from '../../../../src/services/logger.ts';
import type { DialogueRecord } from '../../../../src/services/memory/interactionLog.ts';
import { recollectionQuote } from '../../../../src/shared/recollection.ts';
import { ManualClock } from '../../../support/clock.ts';
import { tempFolders } from '../../../support/fixtures.ts';

const folders = tempFolders();
afterEach(() => folders.cleanup());

const secret = {
  id: 'r-secret',
  conversationId: 'c-secret',
  task: 'Where is the Quokka7Marmalade kept?',
  answer: 'In the cellar.',
  turns: [],
} as unknown as DialogueRecord;
const forgotten = forgottenOf('c-secret', [secret]);

const sample = (id: string, content: string, recalled: string[] = []) =>
  JSON.stringify({
    messages: [
      { role: 'user', content },
      { role: 'assistant', content: 'An answer.' },
    ],
    meta: { interaction_id: id, recalled },
  });
const examEntry = (id: string, content: string) =>
  JSON.stringify({
    format: 'bat-os/exam-prompt@1',
    source: 'held-out',
    messages: [{ role: 'user', content }],
    interaction_id: id,
  });
const lines = (...items: string[]) => items.map((item) => `${item}\n`).join('');

/** A fine-tuner's store with `jobs` in it (state and version as given), and what it publishes. */
async function setUp(jobs: Array<Pick<FinetuneJob, 'state'> & { version?: number }>) {
  const dataDir = folders.folder();
  const store = await FinetuneStore.open({ dataDir });
  const bus = createEventBus();
  const published: FinetuneJob[] = [];
  bus.subscribe('finetune_job', ({ job }) => {
    published.push(job);
  });
  for (const [i, job] of jobs.entries()) {
    const begun = await store.begin({
      persona: 'ROBIN',
      trigger: 'command',
      requestedBy: 'ada',
      state: 'running',
      stage: 'snapshot',
      base: 'base',
      fromModel: 'robin:test',
      startedAt: i,
      updatedAt: i,
      losses: [],
    });
    if (!begun.ok) throw new Error('not begun');
    await store.update(
      begun.job.id,
      () => ({ state: job.state, stage: 'done', ...(job.version ? { version: job.version } : {}) }),
      i,
    );
    if (job.version) {
      await store.addVersion({
        persona: 'ROBIN',
        version: job.version,
        model: `batos-robin-v${job.version}`,
        base: 'base',
        fromModel: 'robin:test',
        jobId: begun.job.id,
        datasetHash: 'h',
        samples: 3,
        createdAt: i,
      });
      if (job.state === 'promoted')
        await store.activate({
          persona: 'ROBIN',
          version: job.version,
          model: `batos-robin-v${job.version}`,
          since: i,
          by: 'system',
        });
    }
  }
  const deps = { dataDir, store, bus, clock: new ManualClock(), log: createSilentLogger() };
  return { dataDir, store, deps, published };
}

/** Writes a job's frozen files. */
function freeze(dataDir: string, job: string, files: Record<string, string>) {
  mkdirSync(join(dataDir, 'finetune', job), { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dataDir, 'finetune', job, name), text);
}

describe('forgetting in the fine-tuning loop', () => {
  it('removes the dialogue from the datasets, hold-outs and exams; marks those jobs tainted; names the model in force and a clean rollback', async () => {
    const { dataDir, store, deps, published } = await setUp([
      { state: 'promoted', version: 1 },
      { state: 'promoted', version: 2 },
    ]);
    const quoted = `Related past dialogues:\n- 2026-11-02 (similarity 0.90): ${recollectionQuote(secret.task, secret.answer)}`;
    freeze(dataDir, 'ft1', { 'train.jsonl': lines(sample('r-a', 'clean one'), sample('r-b', 'clean two')) });
    freeze(dataDir, 'ft2', {
      'train.jsonl': lines(sample('r-secret', secret.task), sample('r-a', 'clean one')),
      'holdout.jsonl': lines(sample('r-later', quoted, ['r-secret']), sample('r-c', 'clean three')),
      'exam.jsonl': lines(examEntry('r-later2', quoted), examEntry('r-c', 'clean three')),
    });
    mkdirSync(join(dataDir, 'finetune', 'exams'), { recursive: true });
    writeFileSync(
      join(dataDir, 'finetune', 'exams', 'ROBIN.jsonl'),
      lines(examEntry('r-secret', secret.task), examEntry('r-c', 'clean three')),
    );

    const report = await forgetInDatasets(deps, forgotten);

    expect(report.examPrompts).toBe(1);
    expect(report.tainted).toEqual([
      { id: 'ft2', persona: 'ROBIN', state: 'promoted', version: 2, lines: 3 },
    ]);
    expect(report.inForce).toEqual([
      { persona: 'ROBIN', version: 2, model: 'batos-robin-v2', jobId: 'ft2', rollbackTo: 1 },
    ]);
    const all = ['ft1', 'ft2']
      .flatMap((job) =>
        ['train.jsonl', 'holdout.jsonl', 'exam.jsonl'].map((f) => join(dataDir, 'finetune', job, f)),
      )
      .concat(join(dataDir, 'finetune', 'exams', 'ROBIN.jsonl'))
      .map((file) => {
        try {
          return readFileSync(file, 'utf8');
        } catch {
          return '';
        }
      })
      .join('');
    expect(all).not.toContain('Quokka7Marmalade');
    expect(all.match(/clean (one|two|three)/g)).toHaveLength(6);
    expect((await store.get('ft2'))?.tainted).toEqual({ at: deps.clock.now(), lines: 3 });
    expect((await store.get('ft1'))?.tainted).toBeUndefined();
    // Published, so the job's log message says so.
    expect(published.map((job) => [job.id, job.tainted?.lines])).toEqual([['ft2', 3]]);

    // A second forget of the same finds nothing more.
    expect(await forgetInDatasets(deps, forgotten)).toEqual({ tainted: [], examPrompts: 0, inForce: [] });
    await store.close();
  });

  it('never promotes a tainted job by itself: it waits for an architect, even with FINETUNE_PROMOTION=auto', async () => {
    const { store, deps } = await setUp([{ state: 'running' }]);
    await store.update(
      'ft1',
      () => ({ tainted: { at: 1, lines: 2 }, candidate: 'batos-robin-v1', version: 1 }),
      1,
    );
    const progress = new JobProgress(deps, (await store.get('ft1')) as FinetuneJob);
    const evaluation = {
      prompts: 4,
      wins: 4,
      losses: 0,
      ties: 0,
      score: 1,
      lowerBound: 0.5,
      formatCandidate: 4,
      formatIncumbent: 4,
      rule: 'majority' as const,
      better: true,
      verdict: 'better',
    };
    const settings = { promotion: 'auto' } as Parameters<typeof decide>[0]['settings'];
    await decide({ ...deps, settings }, progress, evaluation);
    expect(await store.get('ft1')).toMatchObject({ state: 'awaiting_architect', tainted: { lines: 2 } });
    expect(await store.active('ROBIN')).toBeUndefined();
    await store.close();
  });
});
