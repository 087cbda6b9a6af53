import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.ts';
import { FINETUNE_TEST_ENV, scriptEvaluation, writeGolden } from '../support/finetuneScripts.ts';
import { type Harness, startHarness } from '../support/harness.ts';

/** The trainer is a guest: what it names is checked, and while it holds the GPU nothing else uses it. */

let harness: Harness | undefined;
afterEach(async () => {
  delete process.env.FAKE_TRAINER_MODE;
  await harness?.close();
  harness = undefined;
});

async function start() {
  harness = await startHarness({
    // While the trainer runs, nothing else uses the GPU.
    env: { ...FINETUNE_TEST_ENV, FINETUNE_EXCLUSIVE: 'true' },
  });
  writeGolden(harness.dataDir, 'ROBIN', 24);
  return harness;
}

const embeds = (h: Harness) => h.emulator.requests.filter((r) => r.path === '/api/embed').length;

describe('a fine-tune’s trainer as a guest of the bot', () => {
  it.each([
    ['adapter-link', /the trainer's adapter_dir \(.*linked\) goes through a symbolic link/],
    ['adapter-file-link', /the adapter's adapter_model\.safetensors is a symbolic link/],
    ['merged-file-link', /the merged weights \(.*merged\) hold a symbolic link \(model-00002-of-00002/],
  ])(
    'fails the job, saying which link, and registers nothing, when the trainer plants one (%s)',
    async (mode, reason) => {
      const h = await start();
      process.env.FAKE_TRAINER_MODE = mode;
      await h.runtime.fineTuner.start('ROBIN', { trigger: 'command', requestedBy: 'arch' });
      await h.runtime.fineTuner.settled();
      expect(await h.runtime.fineTuner.get('ft1')).toMatchObject({
        state: 'failed',
        error: expect.stringMatching(reason),
      });
      expect(
        h.emulator.requests.filter((r) => r.path === '/api/create' || r.path.startsWith('/api/blobs')),
      ).toEqual([]);
      expect(h.runtime.fineTuner.activeModel('ROBIN')).toBeUndefined();
    },
  );

  it('keeps embeddings off the server while the trainer holds the GPU: a query waits, a record waits for a later pass', async () => {
    const h = await start();
    scriptEvaluation(h.emulator, { prefers: 'candidate' });
    process.env.FAKE_TRAINER_MODE = 'waits';
    await h.runtime.fineTuner.start('ROBIN', { trigger: 'command', requestedBy: 'arch' });
    await eventually(async () => (await h.runtime.fineTuner.get('ft1'))?.step === 1, 30_000);
    expect(h.runtime.limiter.heldFor).toMatch(/fine-tuning ROBIN/);
    const before = embeds(h);

    // A dialogue's recall waits in the queue; a finished dialogue's record is not held for hours.
    const query = h.runtime.providers.embedder.embed('what did we plant?', { reuse: true });
    await h.runtime.memory.record({
      conversationId: 'c-held',
      run: 1,
      task: 'plant the oak',
      answer: 'planted',
      turns: [],
      models: [],
      trajectory: [],
      finalDissonance: null,
      codexVersion: 1,
      startedAt: 1,
      finishedAt: 2,
    });
    expect((await h.runtime.memory.stats()).pending).toBe(1);
    // The query waits in the model queue, so it has not gone to the server: no wait on real time proves it.
    expect(h.runtime.limiter.waiting).toBe(1);
    expect(embeds(h)).toBe(before);

    writeFileSync(join(h.dataDir, 'finetune', 'ft1', 'adapter', 'release'), '');
    await h.runtime.fineTuner.settled();
    expect((await h.runtime.fineTuner.get('ft1'))?.state).toBe('promoted');
    expect(await query).toHaveLength(64);
    expect(embeds(h)).toBe(before + 1);
    // The GPU is back: the record's pass embeds it.
    await h.runtime.memory.embedPending();
    expect((await h.runtime.memory.stats()).pending).toBe(0);
    expect(embeds(h)).toBe(before + 2);
  }, 60_000);
});
