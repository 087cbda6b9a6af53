import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createEventBus } from '../../../../src/services/eventBus.ts';
import type { DatasetSnapshot } from '../../../../src/services/finetune/datasetSnapshot.ts';
import type { FinetuneSettings } from '../../../../src/services/finetune/fineTunerDeps.ts';
import { type FinetuneJob, FinetuneStore } from '../../../../src/services/finetune/finetuneStore.ts';
import { JobProgress } from '../../../../src/services/finetune/jobProgress.ts';
import { train } from '../../../../src/services/finetune/runJob.ts';
import { createLogger } from '../../../../src/services/logger.ts';
import { ManualClock } from '../../../support/clock.ts';
import { FAKE_TRAINER } from '../../../support/finetuneScripts.ts';
import { tempFolders } from '../../../support/fixtures.ts';

const folders = tempFolders();
let store: FinetuneStore | undefined;
afterEach(async () => {
  await store?.close();
  store = undefined;
  folders.cleanup();
});

const SETTINGS: FinetuneSettings = {
  command: FAKE_TRAINER,
  env: ['FAKE_TRAINER_*'],
  timeoutMs: 60_000,
  holdout: 0.1,
  triggerSize: 1,
  rule: 'majority',
  promotion: 'auto',
  exclusive: false,
  evalPrompts: 1,
  judge: () => {
    throw new Error('no judging here');
  },
};

/** The training step of a begun job, on the fake trainer in the given mode, with its log as records. */
async function trainWith(environment: Record<string, string>) {
  const folder = folders.folder();
  store = await FinetuneStore.open({ dataDir: folder });
  const clock = new ManualClock();
  const bus = createEventBus();
  const published: FinetuneJob[] = [];
  bus.subscribe('finetune_job', ({ job }) => {
    published.push(job);
  });
  const records: Array<{ msg: string; bytes?: number; stream?: string }> = [];
  const log = createLogger({
    level: 'info',
    destination: { write: (line: string) => records.push(JSON.parse(line)) },
  });
  const begun = await store.begin({
    persona: 'ROBIN',
    trigger: 'command',
    requestedBy: 'a',
    state: 'running',
    stage: 'training',
    base: 'unsloth/Llama-3.2-1B-Instruct',
    fromModel: 'robin-test',
    startedAt: clock.now(),
    updatedAt: clock.now(),
    losses: [],
  });
  if (!begun.ok) throw new Error('no job');
  const trainPath = join(folder, 'train.jsonl');
  writeFileSync(
    trainPath,
    `${JSON.stringify({
      messages: [
        { role: 'user', content: 'q' },
        { role: 'assistant', content: 'a' },
      ],
    })}\n`,
  );
  const snapshot = { trainPath } as DatasetSnapshot;
  const progress = new JobProgress({ store, bus, clock, log }, begun.job);
  const outcome = await train(
    {
      settings: SETTINGS,
      clock,
      signal: new AbortController().signal,
      log,
      environment: () => ({ ...process.env, ...environment }),
    },
    progress,
    snapshot,
    folder,
  );
  return { outcome, job: (await store.get(begun.job.id)) as FinetuneJob, published, records };
}

describe('the training step', () => {
  it('stores a trainer’s rapid progress at most once a second on the injected clock, and always the last', async () => {
    const { outcome, job, published } = await trainWith({ FAKE_TRAINER_STEPS: '300' });
    expect(outcome).toMatchObject({ ok: true, steps: 300 });
    // The clock stood still: the start and the first progress were stored, the other 299 progress
    // events waited for the second to pass, and the last of them was stored when the trainer ended.
    expect(published.map((j) => j.step ?? 0)).toEqual([0, 1, 300]);
    expect(job).toMatchObject({ step: 300, totalSteps: 300 });
    expect(job.losses).toHaveLength(300);
    expect(job.losses.at(-1)?.[0]).toBe(300);
  });

  it('logs a line longer than 64 KB once, with its length, and trains on', async () => {
    const { outcome, job, records } = await trainWith({
      FAKE_TRAINER_MODE: 'flood',
      FAKE_TRAINER_FLOOD_MB: '2',
    });
    expect(outcome).toMatchObject({ ok: true, malformed: 0 });
    expect(job).toMatchObject({ step: 5 });
    expect(records.filter((r) => /longer than 64 KB/.test(r.msg))).toEqual([
      expect.objectContaining({
        msg: 'the trainer printed a line longer than 64 KB; it was cut (see trainer.log)',
        stream: 'stdout',
        bytes: 2 * 1024 * 1024,
      }),
    ]);
  });
});
