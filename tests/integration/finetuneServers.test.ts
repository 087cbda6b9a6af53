import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FINETUNE_TEST_ENV, scriptEvaluation, writeGolden } from '../support/finetuneScripts.ts';
import { TEST_MODELS } from '../support/fixtures.ts';
import { type Harness, startHarness } from '../support/harness.ts';

/**
 * Which path a fine-tune takes to Ollama, by what the server accepts (the merged-model path of a
 * current Ollama is in finetune.test.ts): the adapter below 0.34.1, the fallback when a server
 * refuses it, and the contract's folders kept inside --output.
 */

const { ROBIN } = TEST_MODELS;
let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

async function start(env: Record<string, string> = {}) {
  harness = await startHarness({
    env: { ...FINETUNE_TEST_ENV, ...env },
  });
  writeGolden(harness.dataDir, 'ROBIN', 24);
  return harness;
}

describe('a fine-tune registered with Ollama by what the server accepts', () => {
  it('registers the adapter on an Ollama below 0.34.1, asking the trainer for the adapter alone', async () => {
    const h = await start();
    h.emulator.version = '0.33.2';
    scriptEvaluation(h.emulator, { prefers: 'candidate' });
    await h.runtime.fineTuner.start('ROBIN', { trigger: 'command', requestedBy: 'arch' });
    await h.runtime.fineTuner.settled();
    const job = await h.runtime.fineTuner.get('ft1');
    expect(job).toMatchObject({
      state: 'promoted',
      registration: {
        path: 'adapter',
        uploaded: 2,
        summary: expect.stringMatching(/Ollama 0\.33\.2 takes adapters/),
      },
    });
    const given = JSON.parse(
      readFileSync(join(h.dataDir, 'finetune', 'ft1', 'adapter', 'fake-trainer.json'), 'utf8'),
    );
    expect(given.argv).toEqual(expect.arrayContaining(['--export', 'adapter']));
    expect(h.emulator.blobs.size).toBe(2);
    expect(h.emulator.created.get('batos-robin-v1:latest')).toMatchObject({
      from: ROBIN,
      adapters: {
        'adapter_model.safetensors': expect.stringMatching(/^sha256:/),
        'adapter_config.json': expect.any(String),
      },
      files: {},
    });
  });

  it('falls back to the merged model when a server whose version says nothing refuses the adapter', async () => {
    const h = await start();
    // A build from source reports 0.0.0, and refuses adapters as a current Ollama does.
    h.emulator.version = '0.0.0';
    h.emulator.registry.refusesAdapters = true;
    scriptEvaluation(h.emulator, { prefers: 'candidate' });
    await h.runtime.fineTuner.start('ROBIN', { trigger: 'command', requestedBy: 'arch' });
    await h.runtime.fineTuner.settled();
    expect(await h.runtime.fineTuner.get('ft1')).toMatchObject({
      state: 'promoted',
      registration: {
        path: 'merged',
        summary: expect.stringMatching(/Ollama 0\.0\.0 \(a version that says nothing\) refused the adapter/),
      },
    });
    const creates = h.emulator.requests.filter((r) => r.path === '/api/create').map((r) => r.body);
    expect(creates).toEqual([
      expect.objectContaining({ adapters: expect.any(Object), from: ROBIN }),
      expect.objectContaining({ files: expect.any(Object), quantize: 'q4_K_M' }),
    ]);
    // Both adapter files and the eight merged ones were pushed.
    expect(h.emulator.blobs.size).toBe(10);
  });

  it('fails the job, saying what to fix, when OLLAMA_VERSION claims adapters a current server refuses', async () => {
    const h = await start({ OLLAMA_VERSION: '0.33.0' });
    await h.runtime.fineTuner.start('ROBIN', { trigger: 'command', requestedBy: 'arch' });
    await h.runtime.fineTuner.settled();
    expect(await h.runtime.fineTuner.get('ft1')).toMatchObject({
      state: 'failed',
      error: expect.stringMatching(
        /LoRA adapters are no longer supported\. From 0\.34\.1 .*asked for the adapter alone.*set OLLAMA_VERSION/,
      ),
    });
    expect(await h.runtime.fineTuner.versions('ROBIN')).toEqual([]);
  });

  it('fails a trainer whose merged_dir or adapter_dir lies outside --output, and swaps nothing', async () => {
    const h = await start();
    try {
      for (const [mode, what] of [
        ['merged-outside', 'merged_dir'],
        ['adapter-outside', 'adapter_dir'],
      ] as const) {
        process.env.FAKE_TRAINER_MODE = mode;
        await h.runtime.fineTuner.start('ROBIN', { trigger: 'command', requestedBy: 'a' });
        await h.runtime.fineTuner.settled();
        expect((await h.runtime.fineTuner.jobs(1))[0]).toMatchObject({
          state: 'failed',
          error: expect.stringMatching(
            new RegExp(`the trainer's ${what} \\(.*elsewhere\\) lies outside its --output folder`),
          ),
        });
      }
    } finally {
      delete process.env.FAKE_TRAINER_MODE;
    }
    expect(h.emulator.requests.filter((r) => r.path === '/api/create')).toEqual([]);
    expect(h.runtime.fineTuner.activeModel('ROBIN')).toBeUndefined();
  });
});
