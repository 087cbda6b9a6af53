import { mkdirSync, readdirSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { uploadBlobs } from '../../../../src/services/finetune/ollamaHttp.ts';
import { createOllamaRegistrar, parseParameters } from '../../../../src/services/finetune/ollamaRegistrar.ts';
import { tempFolders } from '../../../support/fixtures.ts';
import { OllamaEmulator } from '../../../support/ollamaEmulator.ts';
import { BASE_PROMPTING } from '../../../support/ollamaRegistry.ts';

const BASE = 'llama3.1:8b';
const folders = tempFolders();
let emulator: OllamaEmulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
  folders.cleanup();
});

/** A trainer's output: the adapter in `dir`, the merged model in `dir/merged`. */
function trainerOutput(): { adapterDir: string; mergedDir: string } {
  const adapterDir = folders.folder();
  writeFileSync(join(adapterDir, 'adapter_model.safetensors'), Buffer.from('adapter weights'));
  writeFileSync(join(adapterDir, 'adapter_config.json'), '{"r": 16, "lora_alpha": 16}');
  const mergedDir = join(adapterDir, 'merged');
  mkdirSync(mergedDir);
  writeFileSync(join(mergedDir, 'config.json'), '{"architectures": ["LlamaForCausalLM"]}');
  writeFileSync(join(mergedDir, 'tokenizer.json'), '{"model": {}}');
  writeFileSync(join(mergedDir, 'model-00001-of-00002.safetensors'), Buffer.alloc(4096, 1));
  writeFileSync(join(mergedDir, 'model-00002-of-00002.safetensors'), Buffer.alloc(4096, 2));
  return { adapterDir, mergedDir };
}

async function registrar(options: { version?: string; serverVersion?: string; quantize?: string } = {}) {
  emulator = await OllamaEmulator.start({
    models: [BASE],
    ...(options.serverVersion ? { version: options.serverVersion } : {}),
  });
  return createOllamaRegistrar({
    host: emulator.url,
    timeoutMs: 5000,
    quantize: options.quantize ?? 'q4_K_M',
    ...(options.version ? { version: options.version } : {}),
  });
}

const request = (output: { adapterDir: string; mergedDir?: string }) => ({
  name: 'batos-robin-v1',
  from: BASE,
  base: 'unsloth/Meta-Llama-3.1-8B-Instruct',
  ...output,
});

describe('registering a fine-tune with Ollama, by what the server accepts', () => {
  it('reads /api/show parameters as /api/create takes them', () => {
    expect(parseParameters(BASE_PROMPTING.parameters)).toEqual({
      stop: ['<|start_header_id|>', '<|end_header_id|>', '<|eot_id|>'],
      num_ctx: 8192,
    });
    expect(parseParameters('temperature 0.7\nstop "a \\"quoted\\" word"\nmirostat true\n\n')).toEqual({
      temperature: 0.7,
      stop: ['a "quoted" word'],
      mirostat: true,
    });
  });

  it('asks the trainer for the adapter alone below 0.34.1, for both exports otherwise', async () => {
    expect(await (await registrar({ serverVersion: '0.33.2' })).prepare()).toMatchObject({
      export: 'adapter',
    });
    await emulator?.close();
    expect(await (await registrar()).prepare()).toMatchObject({
      export: 'both',
      note: expect.stringMatching(/Ollama 0\.34\.2 takes whole models only/),
    });
    await emulator?.close();
    // OLLAMA_VERSION wins over what the server says.
    expect(await (await registrar({ version: '0.30.0' })).prepare()).toMatchObject({ export: 'adapter' });
  });

  it('registers the adapter on an old server, and the merged model (prompted as the base) on a current one', async () => {
    const old = await registrar({ serverVersion: '0.33.2' });
    expect(await old.register(request(trainerOutput()))).toMatchObject({
      path: 'adapter',
      model: 'batos-robin-v1',
      uploaded: 2,
      reused: 0,
    });
    expect(emulator?.created.get('batos-robin-v1:latest')).toMatchObject({ from: BASE, files: {} });
    await emulator?.close();

    const current = await registrar({ quantize: 'q8_0' });
    emulator?.prompting.set(`${BASE}`, { ...BASE_PROMPTING, system: 'Be brief.' });
    const output = trainerOutput();
    const registered = await current.register(request(output));
    const sizes = readdirSync(output.mergedDir).map((file) => statSync(join(output.mergedDir, file)).size);
    expect(registered).toMatchObject({
      path: 'merged',
      uploaded: 4,
      reused: 0,
      bytes: sizes.reduce((a, b) => a + b, 0),
    });
    expect(registered.summary).toMatch(
      /^merged model, q8_0, prompted as llama3\.1:8b \(Ollama 0\.34\.2 takes whole models only\): 4 files, 8.2 KB uploaded$/,
    );
    const created = emulator?.created.get('batos-robin-v1:latest');
    expect(Object.keys(created?.files ?? {})).toEqual([
      'config.json',
      'model-00001-of-00002.safetensors',
      'model-00002-of-00002.safetensors',
      'tokenizer.json',
    ]);
    expect(created).toMatchObject({
      quantize: 'q8_0',
      template: BASE_PROMPTING.template,
      system: 'Be brief.',
    });
    // The same weights again: every blob is there already (HEAD), nothing is sent.
    expect(await current.register({ ...request(output), name: 'batos-robin-v2' })).toMatchObject({
      path: 'merged',
      bytes: 0,
      uploaded: 0,
      reused: 4,
    });
  });

  it('imports the merged model unquantized with FINETUNE_QUANTIZE=none', async () => {
    const current = await registrar({ quantize: 'none' });
    await current.register(request(trainerOutput()));
    const create = emulator?.requests.find((r) => r.path === '/api/create')?.body as Record<string, unknown>;
    expect(create).not.toHaveProperty('quantize');
    expect(create).toMatchObject({ model: 'batos-robin-v1', stream: false });
  });

  it('removes a candidate (another server refused it); one that is not there is gone already', async () => {
    const current = await registrar();
    await current.register(request(trainerOutput()));
    expect(emulator?.models.has('batos-robin-v1:latest')).toBe(true);
    await current.remove?.('batos-robin-v1');
    expect(emulator?.models.has('batos-robin-v1:latest')).toBe(false);
    await expect(current.remove?.('batos-robin-v1')).resolves.toBeUndefined();
    // The model in force is never removed: only the candidate named.
    expect(emulator?.models.has(BASE)).toBe(true);
  });

  it('says what to fix when a server refuses the adapter and there are no merged weights', async () => {
    // The server says 0.33 (OLLAMA_VERSION) but is a current one: the trainer was asked for the adapter alone.
    const misled = await registrar({ version: '0.33.0' });
    await expect(misled.register(request({ adapterDir: trainerOutput().adapterDir }))).rejects.toThrow(
      /LoRA adapters are no longer supported\. From 0\.34\.1 Ollama takes whole models only, .*set OLLAMA_VERSION/,
    );
    await emulator?.close();
    const current = await registrar();
    await expect(current.register(request({ adapterDir: trainerOutput().adapterDir }))).rejects.toThrow(
      /LoRA adapters are no longer supported.*the trainer wrote none/,
    );
  });

  it('streams a large blob from disk: the body arrives in many chunks and memory does not grow by its size', async () => {
    emulator = await OllamaEmulator.start({ models: [BASE] });
    const path = join(folders.folder(), 'model-00001-of-00001.safetensors');
    const size = 512 * 1024 * 1024;
    // Sparse: no disk space taken, zeros when read.
    writeFileSync(path, '');
    truncateSync(path, size);
    global.gc?.();
    const before = process.memoryUsage().rss;
    let peak = before;
    const probe = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 5);
    try {
      const upload = await uploadBlobs({ host: emulator.url, timeoutMs: 60_000 }, [{ name: 'shard', path }]);
      expect(upload).toMatchObject({ bytes: size, uploaded: 1 });
    } finally {
      clearInterval(probe);
    }
    const blob = [...emulator.blobs.values()][0];
    expect(blob).toMatchObject({ size });
    expect(blob?.chunks).toBeGreaterThan(64);
    expect(blob?.bytes).toBeUndefined();
    // Read whole, it would have cost at least its 512 MB.
    expect(peak - before).toBeLessThan(size / 4);
  }, 120_000);
});
