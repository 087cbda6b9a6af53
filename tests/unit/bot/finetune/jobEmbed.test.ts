import { describe, expect, it } from 'vitest';
import { jobDetail, jobEmbed } from '../../../../src/bot/finetune/jobEmbed.ts';
import type { FinetuneJob } from '../../../../src/services/finetune/finetuneStore.ts';

const DATA = '/srv/batos/data/finetune/ft1';
const COMMAND = `$ python /opt/batos/forge/finetune/train.py --dataset ${DATA}/train.jsonl --base org/base --output ${DATA}/adapter --export both`;

/** A job that failed the way a trainer fails: its reason and its log name the host's paths. */
function failedJob(change: Partial<FinetuneJob> = {}): FinetuneJob {
  return {
    id: 'ft1',
    persona: 'ROBIN',
    trigger: 'command',
    requestedBy: 'u1',
    state: 'failed',
    stage: 'done',
    base: 'org/base',
    fromModel: 'robin-test:latest',
    startedAt: 0,
    updatedAt: 0,
    losses: [],
    error: 'the trainer failed: cannot read …/train.jsonl',
    errorDetail: `the trainer failed: cannot read ${DATA}/train.jsonl`,
    logTail: [
      COMMAND,
      'Traceback (most recent call last):',
      '  File "/opt/venv/lib/python3.11/site-packages/datasets/load.py", line 12, in load',
      `OSError: ${DATA}/train.jsonl: permission denied`,
    ].join('\n'),
    ...change,
  };
}

describe("a fine-tune job's message", () => {
  it('says why the trainer failed without an absolute path or the command line', () => {
    const text = JSON.stringify(jobEmbed(failedJob()).toJSON());
    expect(text).toContain('Failed: nothing was swapped');
    expect(text).toContain('the trainer failed: cannot read …/train.jsonl');
    expect(text).toContain('OSError: …/train.jsonl: permission denied');
    expect(text).toContain('File \\"…/load.py\\", line 12');
    expect(text).not.toMatch(/\/srv\/|\/opt\/|--dataset|train\.py/);
  });

  it('hides the paths of a job stored before errors had public words, and of the registration', () => {
    const job = failedJob({
      error: `the trainer's adapter_dir (${DATA}/elsewhere) lies outside its --output folder (${DATA}/adapter)`,
      registration: {
        path: 'runtime-lora',
        provider: 'openai',
        bytes: 0,
        uploaded: 0,
        reused: 0,
        summary: `loaded at run time on http://10.0.0.7:8000/v1 from ${DATA}/adapter`,
      },
    });
    const { errorDetail: _, ...older } = job;
    const text = JSON.stringify(jobEmbed(older).toJSON());
    expect(text).toContain("the trainer's adapter_dir (…/elsewhere) lies outside");
    expect(text).toContain('loaded at run time on ‹address› from …/adapter');
    expect(text).not.toMatch(/\/srv\/|10\.0\.0\.7/);
    expect(jobDetail(older)).toContain(`${DATA}/elsewhere`);
    expect(jobDetail(older)).toContain('http://10.0.0.7:8000/v1');
  });

  it('gives an architect what the message leaves out: the whole reason and the log as written', () => {
    const detail = jobDetail(failedJob()) ?? '';
    expect(detail).toContain(`the trainer failed: cannot read ${DATA}/train.jsonl`);
    expect(detail).toContain(COMMAND);
  });

  it('has nothing to add for a job whose message left nothing out', () => {
    const { errorDetail: _, ...job } = failedJob({
      error: 'the dataset is empty',
      logTail: 'step 1\nstep 2',
    });
    expect(jobDetail(job)).toBeUndefined();
  });
});
