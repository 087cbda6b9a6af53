import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ADDRESS } from '../../src/shared/hostDetails.ts';
import { FINETUNE_TEST_ENV, scriptEvaluation, writeGolden } from '../support/finetuneScripts.ts';
import { TEST_MODELS } from '../support/fixtures.ts';
import { type Harness, spoken, startHarness } from '../support/harness.ts';
import { OllamaEmulator } from '../support/ollamaEmulator.ts';
import { scriptRound } from '../support/scripts.ts';

/**
 * A fine-tune of a persona served by several model servers (`hosts`): the candidate goes to every
 * one of them before it can be put in force, so a call sent to either finds the version in
 * force; a host that refuses it fails the job, naming that host, and the others lose it.
 */

const { ROBIN } = TEST_MODELS;
let gpus: OllamaEmulator[] = [];
let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  for (const gpu of gpus) await gpu.close().catch(() => undefined);
  harness = undefined;
  gpus = [];
});

/** ROBIN served by two GPU hosts (Ollama emulators); the others, the judge and the embeddings by `OLLAMA_HOST`. */
async function startRobinOnTwoHosts() {
  const all = Object.values(TEST_MODELS);
  const gpu1 = await OllamaEmulator.start({ models: all });
  const gpu2 = await OllamaEmulator.start({ models: all });
  gpus = [gpu1, gpu2];
  harness = await startHarness({
    env: FINETUNE_TEST_ENV,
    codex: (codex) => {
      codex.personas.ROBIN.hosts = [gpu1.url, gpu2.url];
    },
  });
  writeGolden(harness.dataDir, 'ROBIN', 24);
  for (const emulator of [harness.emulator, gpu1, gpu2]) scriptEvaluation(emulator, { prefers: 'candidate' });
  return { gpu1, gpu2, h: harness };
}

const unloaded = (gpu: OllamaEmulator) =>
  gpu.requests
    .filter((r) => r.path === '/api/generate' && (r.body as { keep_alive?: number }).keep_alive === 0)
    .map((r) => (r.body as { model: string }).model);

describe('a fine-tune of a persona with several model servers', () => {
  it('registers the promoted version on both hosts, and a dialogue on either uses it', async () => {
    const { gpu1, gpu2, h } = await startRobinOnTwoHosts();
    await h.runtime.fineTuner.start('ROBIN', { trigger: 'command', requestedBy: 'arch' });
    await h.runtime.fineTuner.settled();

    const job = await h.runtime.fineTuner.get('ft1');
    expect(job).toMatchObject({ state: 'promoted', candidate: 'batos-robin-v1', version: 1 });
    // ROBIN's model was unloaded from both of its hosts while the trainer ran.
    expect(unloaded(gpu1)).toContain(ROBIN);
    expect(unloaded(gpu2)).toContain(ROBIN);
    // The merged model was imported on each host, prompted as ROBIN's model is; not on
    // OLLAMA_HOST, which does not serve ROBIN.
    for (const gpu of [gpu1, gpu2]) {
      expect(gpu.created.get('batos-robin-v1:latest')).toMatchObject({ quantize: 'q4_K_M' });
      expect(gpu.blobs.size).toBe(8);
    }
    expect(h.emulator.created.has('batos-robin-v1:latest')).toBe(false);
    expect(job?.registration).toMatchObject({
      provider: 'ollama',
      path: 'merged',
      uploaded: 16,
      summary: expect.stringMatching(
        new RegExp(
          `^on host 1 \\(${gpu1.url}\\): merged model, .*; on host 2 \\(${gpu2.url}\\): merged model, `,
        ),
      ),
    });
    expect(await h.runtime.fineTuner.versions('ROBIN')).toEqual([
      expect.objectContaining({ version: 1, model: 'batos-robin-v1', hosts: [gpu1.url, gpu2.url] }),
    ]);
    // The evaluation's candidate answered on ROBIN's hosts, never on OLLAMA_HOST.
    expect(gpu1.chats('batos-robin-v1').length).toBeGreaterThan(0);
    expect(h.emulator.chats('batos-robin-v1')).toEqual([]);

    // A dialogue now: ROBIN's turn goes to the least busy host, the first when both are idle.
    gpu1.script('batos-robin-v1', ['tuned on gpu1\nDISSONANCE: 0.1']);
    gpu2.script('batos-robin-v1', ['tuned on gpu2\nDISSONANCE: 0.1']);
    scriptRound(h.emulator, { answer: 'done' });
    const first = await h.talk('after1', 'A question');
    expect(spoken(first)).toContain('ROBIN: tuned on gpu1');
    // With the first host gone, the next dialogue's ROBIN is answered by the second, by the same version.
    await gpu1.close();
    scriptRound(h.emulator, { answer: 'done' });
    const second = await h.talk('after2', 'Another question');
    expect(spoken(second)).toContain('ROBIN: tuned on gpu2');
    expect(gpu2.chats().at(-1)?.model).toBe('batos-robin-v1');
  });

  it('asks the trainer for both exports when the hosts differ, and gives each host what it takes', async () => {
    const { gpu1, gpu2, h } = await startRobinOnTwoHosts();
    gpu1.version = '0.33.2';
    await h.runtime.fineTuner.start('ROBIN', { trigger: 'command', requestedBy: 'arch' });
    await h.runtime.fineTuner.settled();

    const given = JSON.parse(
      readFileSync(join(h.dataDir, 'finetune', 'ft1', 'adapter', 'fake-trainer.json'), 'utf8'),
    );
    expect(given.export).toBe('both');
    expect(gpu1.created.get('batos-robin-v1:latest')).toMatchObject({ from: ROBIN, files: {} });
    expect(gpu2.created.get('batos-robin-v1:latest')).toMatchObject({ adapters: {}, quantize: 'q4_K_M' });
    expect((await h.runtime.fineTuner.get('ft1'))?.registration).toMatchObject({
      path: 'adapter',
      summary: expect.stringMatching(/^on host 1 \(.*\): adapter on .*; on host 2 \(.*\): merged model, /),
    });
  });

  it('fails the job naming the host that refused, and removes the candidate from the other', async () => {
    const { gpu1, gpu2, h } = await startRobinOnTwoHosts();
    gpu2.failCreate = { status: 500, error: 'no space left on device' };
    await h.runtime.fineTuner.start('ROBIN', { trigger: 'command', requestedBy: 'arch' });
    await h.runtime.fineTuner.settled();

    const refused = `could not register the candidate: Ollama refused to create batos-robin-v1 from the merged weights: no space left on device`;
    expect(await h.runtime.fineTuner.get('ft1')).toMatchObject({
      state: 'failed',
      errorDetail: `Ollama at ${gpu2.url} (host 2 of 2) ${refused}; it was removed from ${gpu1.url}, which had taken it`,
      // In public, the host by its place in the list, not its address.
      error: `Ollama at ${ADDRESS} (host 2 of 2) ${refused}; it was removed from ${ADDRESS}, which had taken it`,
    });
    // The first host took it, and lost it again: nothing will ever name it.
    expect(gpu1.requests.filter((r) => r.path === '/api/delete').map((r) => r.body)).toEqual([
      { model: 'batos-robin-v1' },
    ]);
    expect(gpu1.models.has('batos-robin-v1:latest')).toBe(false);
    expect(gpu2.models.has('batos-robin-v1:latest')).toBe(false);
    // Nothing recorded, nothing swapped: ROBIN's next job registers its own version 1.
    expect(await h.runtime.fineTuner.versions('ROBIN')).toEqual([]);
    expect(h.runtime.fineTuner.activeModel('ROBIN')).toBeUndefined();
  });
});
