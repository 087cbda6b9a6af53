import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createOpenAIRegistrar, serverPath } from '../../../../src/services/finetune/openaiRegistrar.ts';
import { tempFolders } from '../../../support/fixtures.ts';
import { OpenAIEmulator, type OpenAIEmulatorOptions } from '../../../support/openaiEmulator.ts';

const folders = tempFolders();
let emulator: OpenAIEmulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
  folders.cleanup();
});

/** A job's adapter under `<local>/ft1/adapter`, as the fine-tuner lays it out. */
function adapterIn(local: string): string {
  const dir = join(local, 'ft1', 'adapter');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'adapter_model.safetensors'), 'weights');
  writeFileSync(join(dir, 'adapter_config.json'), '{}');
  return dir;
}

async function setUp(options: OpenAIEmulatorOptions = {}, sharedDir?: string) {
  const local = folders.folder();
  emulator = await OpenAIEmulator.start({ models: ['llama-3.1-8b'], apiKey: 'k', ...options });
  const registrar = createOpenAIRegistrar({
    baseUrl: emulator.url,
    apiKey: 'k',
    timeoutMs: 5000,
    localDir: local,
    sharedDir,
  });
  return { local, registrar, emulator };
}

const request = (adapterDir: string) => ({
  name: 'batos-brick-v1',
  from: 'llama-3.1-8b',
  base: 'meta-llama/Llama-3.1-8B-Instruct',
  adapterDir,
});

describe('vLLM’s runtime adapters as a fine-tune’s server', () => {
  it('maps the trainer’s folder to where the server sees it (FINETUNE_SHARED_DIR)', () => {
    const options = { localDir: '/var/bat/data/finetune', sharedDir: '/mnt/shared/finetune' };
    expect(serverPath(options, '/var/bat/data/finetune/ft3/adapter')).toBe(
      '/mnt/shared/finetune/ft3/adapter',
    );
    // Unset: one host, the same path. Outside the folder: left as it is.
    expect(serverPath({ localDir: options.localDir }, '/var/bat/data/finetune/ft3/adapter')).toBe(
      '/var/bat/data/finetune/ft3/adapter',
    );
    expect(serverPath(options, '/elsewhere/adapter')).toBe('/elsewhere/adapter');
  });

  it('asks for the adapter alone, loads it under the candidate’s name, and unloads it', async () => {
    const { local, registrar, emulator } = await setUp({}, '/srv/shared');
    emulator.mounts['/srv/shared'] = local;
    expect(await registrar.prepare()).toMatchObject({ export: 'adapter' });
    const registered = await registrar.register(request(adapterIn(local)));
    expect(registered).toMatchObject({
      path: 'runtime-lora',
      model: 'batos-brick-v1',
      bytes: 0,
      summary: expect.stringMatching(/loaded at run time on .* from \/srv\/shared\/ft1\/adapter$/),
    });
    expect(emulator.adapters.get('batos-brick-v1')).toMatchObject({ path: '/srv/shared/ft1/adapter' });
    // Loaded again (a restart of the bot, a rollback back to it): vLLM says it is there; that is fine.
    expect(await registrar.register(request(adapterIn(local)))).toMatchObject({ reused: 1 });
    await registrar.retire?.('batos-brick-v1');
    expect(emulator.adapters.size).toBe(0);
    // Unloading what the server no longer has (it restarted) is not an error.
    await expect(registrar.retire?.('batos-brick-v1')).resolves.toBeUndefined();
    // Every request carried the key.
    expect(emulator.requests.every((r) => r.authorization === 'Bearer k')).toBe(true);
  });

  it('refuses a server without the runtime LoRA routes before any training, naming what to set', async () => {
    const { registrar } = await setUp({ runtimeLora: false });
    await expect(registrar.prepare()).rejects.toThrow(
      /cannot load a LoRA adapter at run time \(POST \/v1\/load_lora_adapter answered 404\): start vLLM with --enable-lora and the environment variable VLLM_ALLOW_RUNTIME_LORA_UPDATING=True/,
    );
  });

  it('says so when vLLM runs without --enable-lora, or cannot read the adapter where it was told', async () => {
    const disabled = await setUp({ enableLora: false });
    await expect(disabled.registrar.register(request(adapterIn(disabled.local)))).rejects.toThrow(
      /LoRA is not enabled.*--enable-lora/,
    );
    await emulator?.close();
    // The server sees another disk: the job's path means nothing there.
    const elsewhere = await setUp({}, '/srv/not-mounted');
    await expect(elsewhere.registrar.register(request(adapterIn(elsewhere.local)))).rejects.toThrow(
      /cannot read the adapter at \/srv\/not-mounted\/ft1\/adapter .*set FINETUNE_SHARED_DIR to where the model server sees/,
    );
  });
});
