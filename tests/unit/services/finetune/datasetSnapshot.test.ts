import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createGoldenStore } from '../../../../src/services/curation/goldenStore.ts';
import { GoldenTable } from '../../../../src/services/curation/goldenTable.ts';
import type { GoldenSample as CuratedSample } from '../../../../src/services/curation/sample.ts';
import { createEventBus } from '../../../../src/services/eventBus.ts';
import {
  goldenFiles,
  goldenPaths,
  readSamples,
  snapshotDataset,
} from '../../../../src/services/finetune/datasetSnapshot.ts';
import type { FinetuneSettings } from '../../../../src/services/finetune/fineTunerDeps.ts';
import { FinetuneStore } from '../../../../src/services/finetune/finetuneStore.ts';
import { JobProgress } from '../../../../src/services/finetune/jobProgress.ts';
import { freezeDataset } from '../../../../src/services/finetune/runJob.ts';
import { createSilentLogger } from '../../../../src/services/logger.ts';
import { sha256 } from '../../../../src/shared/hash.ts';
import { ManualClock } from '../../../support/clock.ts';
import { writeGolden } from '../../../support/finetuneScripts.ts';
import { tempFolders } from '../../../support/fixtures.ts';
import { usePostgres } from '../../../support/postgres.ts';

const folders = tempFolders();
const postgres = usePostgres();
let store: FinetuneStore | undefined;
afterEach(async () => {
  await store?.close();
  store = undefined;
  folders.cleanup();
});

/**
 * The main thread's time on a core, in ns, from Linux's schedstat (undefined elsewhere). Between
 * two turns of a timer it is how long the event loop ran without giving the timer its turn: the
 * stall our code causes, whatever a busy machine adds by running other work meanwhile.
 */
const SCHEDSTAT = '/proc/thread-self/schedstat';
const onCpu = existsSync(SCHEDSTAT) ? () => Number(readFileSync(SCHEDSTAT, 'utf8').split(' ')[0]) : undefined;

/**
 * Runs `work` beside a 10 ms timer and returns the event loop's longest stall, in ms: the time on
 * a core between two turns of the timer where Linux says it, else the longest gap between two
 * turns less the 10 ms.
 */
async function longestStall(work: () => Promise<void>): Promise<number> {
  let stall = 0;
  let last = performance.now();
  let lastCpu = onCpu?.() ?? 0;
  const probe = setInterval(() => {
    const now = performance.now();
    const cpu = onCpu?.() ?? 0;
    stall = Math.max(stall, onCpu ? (cpu - lastCpu) / 1e6 : now - last - 10);
    last = now;
    lastCpu = cpu;
  }, 10);
  try {
    // The probe's own start is not the work's.
    await new Promise((resolve) => setTimeout(resolve, 50));
    stall = 0;
    await work();
    // The work's last stretch is measured at the next turn.
    await new Promise((resolve) => setTimeout(resolve, 15));
    return stall;
  } finally {
    clearInterval(probe);
  }
}

describe('freezing a dataset', () => {
  it('freezes a 20,000-sample golden set without stalling the event loop for 100 ms', async () => {
    const dataDir = folders.folder();
    writeGolden(dataDir, 'ROBIN', 20_000);
    // Eight members share the set: the member share is checked over all of it.
    const path = goldenPaths(dataDir, 'ROBIN').golden;
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    writeFileSync(
      path,
      `${lines
        .map((line, i) => {
          const sample = JSON.parse(line);
          sample.meta.members = [`member${i % 8}`];
          return JSON.stringify(sample);
        })
        .join('\n')}\n`,
    );
    store = await FinetuneStore.open({ dataDir });
    const clock = new ManualClock();
    const begun = await store.begin({
      persona: 'ROBIN',
      trigger: 'command',
      requestedBy: 'a',
      state: 'running',
      stage: 'snapshot',
      base: 'unsloth/Llama-3.2-1B-Instruct',
      fromModel: 'robin-test',
      startedAt: clock.now(),
      updatedAt: clock.now(),
      losses: [],
    });
    if (!begun.ok) throw new Error('no job');
    const log = createSilentLogger();
    const progress = new JobProgress({ store, bus: createEventBus(), clock, log }, begun.job);
    const folder = join(dataDir, 'finetune', begun.job.id);
    const settings = {
      holdout: 0.1,
      evalPrompts: 20,
      rule: 'majority',
      memberShare: 0.25,
    } as FinetuneSettings;

    let frozen: Awaited<ReturnType<typeof freezeDataset>> | undefined;
    const stall = await longestStall(async () => {
      frozen = await freezeDataset({ dataDir, settings, clock, log }, progress, folder);
    });
    expect(stall).toBeLessThan(100);

    const { snapshot, exam } = frozen as NonNullable<typeof frozen>;
    expect(snapshot.train + snapshot.holdout.length).toBe(20_000);
    expect(exam.summary.prompts).toBe(20);
    const train = readFileSync(snapshot.trainPath, 'utf8');
    const holdout = readFileSync(snapshot.holdoutPath, 'utf8');
    expect(readSamples(snapshot.trainPath)).toHaveLength(snapshot.train);
    expect(snapshot.hash).toBe(sha256(train + holdout));
    expect(await store.get(begun.job.id)).toMatchObject({
      samples: snapshot.train,
      datasetHash: snapshot.hash,
    });
  }, 60_000);
});

describe('a job freezing its exam and its dataset', () => {
  it('reads each golden set once, for both', async () => {
    const dataDir = folders.folder();
    writeGolden(dataDir, 'ROBIN', 40);
    store = await FinetuneStore.open({ dataDir });
    const clock = new ManualClock();
    const begun = await store.begin({
      persona: 'ROBIN',
      trigger: 'command',
      requestedBy: 'a',
      state: 'running',
      stage: 'snapshot',
      base: 'unsloth/Llama-3.2-1B-Instruct',
      fromModel: 'robin-test',
      startedAt: clock.now(),
      updatedAt: clock.now(),
      losses: [],
    });
    if (!begun.ok) throw new Error('no job');
    const log = createSilentLogger();
    const progress = new JobProgress({ store, bus: createEventBus(), clock, log }, begun.job);
    const files = goldenFiles(dataDir);
    const reads: string[] = [];
    const golden = {
      lines: (persona: string, set: 'golden' | 'anchor') => {
        reads.push(`${persona} ${set}`);
        return files.lines(persona, set);
      },
    };
    const settings = { holdout: 0.5, evalPrompts: 6, rule: 'majority', memberShare: 1 } as FinetuneSettings;
    const { snapshot, exam } = await freezeDataset(
      { dataDir, golden, settings, clock, log },
      progress,
      join(dataDir, 'finetune', begun.job.id),
    );
    expect(reads).toEqual(['ROBIN golden', 'ROBIN anchor']);
    expect(snapshot.golden).toBe(40);
    expect(exam.summary.prompts).toBe(6);
    // The exam's prompts are never trained on.
    const trained = readFileSync(snapshot.trainPath, 'utf8');
    for (const entry of exam.heldOut) expect(trained).not.toContain(JSON.stringify(entry.messages.at(-1)));
  });
});

describe('a dataset frozen from the golden table (DATABASE_URL)', () => {
  it('is byte for byte the one frozen from the same samples in files', async () => {
    const source = folders.folder();
    writeGolden(source, 'ROBIN', 300);
    const samples = readSamples(goldenPaths(source, 'ROBIN').golden) as unknown as CuratedSample[];
    const clock = new ManualClock();
    const dataDir = folders.folder();
    const files = createGoldenStore({
      dir: join(dataDir, 'golden'),
      anchorSize: 20,
      clock,
      logger: createSilentLogger(),
    });
    const table = await GoldenTable.open(
      { dataDir: folders.folder(), databaseUrl: await postgres.database() },
      { anchorSize: 20, clock },
    );
    try {
      const frozen = [];
      for (const golden of [files, table]) {
        await golden.append('ROBIN', samples.slice(0, 100));
        await golden.append('ROBIN', samples.slice(50));
        await golden.flush();
        frozen.push(
          await snapshotDataset({
            golden,
            dataDir,
            persona: 'ROBIN',
            folder: folders.folder(),
            holdoutShare: 0.2,
            exclude: (sample) => JSON.stringify(sample).includes('tree 7?'),
          }),
        );
      }
      const [fromFiles, fromTable] = frozen as [(typeof frozen)[0], (typeof frozen)[0]];
      expect(fromTable).toMatchObject({
        hash: fromFiles.hash,
        train: fromFiles.train,
        anchor: 20,
        golden: 300,
      });
      expect(readFileSync(fromTable.trainPath)).toEqual(readFileSync(fromFiles.trainPath));
      expect(readFileSync(fromTable.holdoutPath)).toEqual(readFileSync(fromFiles.holdoutPath));
    } finally {
      await table.close();
    }
  });
});
