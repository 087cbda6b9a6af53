import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { BotHarness, BotHarnessOptions } from '../support/botHarness.ts';
import { architect } from '../support/botSteps.ts';
import type { EmulatedMessage } from '../support/discordEmulator.ts';
import { FAKE_TRAINER, scriptEvaluation, writeGolden } from '../support/finetuneScripts.ts';
import { TEST_MODELS, tempDir, writeTestCodex } from '../support/fixtures.ts';
import { BASE_PROMPTING } from '../support/ollamaRegistry.ts';
import { OpenAIEmulator, type OpenAIEmulatorOptions } from '../support/openaiEmulator.ts';
import { useBotHarness } from '../support/useBotHarness.ts';

/**
 * A fine-tuned BRICK reaching the servers people run: a current Ollama (which refuses adapters:
 * the merged model is imported), an Ollama below 0.34.1 (the adapter), and vLLM (the adapter
 * loaded at run time, unloaded on rollback) — each through Discord, from /finetune run to
 * BRICK's next turn.
 */

const { ALFRED, BRICK, ROBIN } = TEST_MODELS;
const bot = useBotHarness({
  env: {
    FINETUNE_COMMAND: FAKE_TRAINER,
    // The fake trainer takes its mode from the environment; the trainer gets only what FINETUNE_ENV adds.
    FINETUNE_ENV: 'FAKE_TRAINER_*',
    FINETUNE_HOLDOUT: '0.5',
    FINETUNE_EVAL_PROMPTS: '4',
    FINETUNE_PROMOTE_RULE: 'majority',
    // These tests follow a candidate onto its server: a better one is swapped in at once.
    FINETUNE_PROMOTION: 'auto',
    MEMORY_RECALL_K: '0',
  },
  channels: { LOG_CHANNEL_ID: 'bot-log' },
});
const CANDIDATE = 'A fine answer, tuned.\nDISSONANCE: 0.2';
const INCUMBENT = 'An answer.\nDISSONANCE: 0.3';

let openai: OpenAIEmulator | undefined;
const folders: Array<{ cleanup(): void }> = [];
afterEach(async () => {
  await openai?.close();
  openai = undefined;
  for (const folder of folders.splice(0)) folder.cleanup();
});

/** A bot whose BRICK has 20 golden samples to train on. */
async function start(options: BotHarnessOptions = {}) {
  const h = await bot.start(options);
  writeGolden(h.runtime.config.dataDir, 'BRICK', 20);
  return h;
}

/** A bot whose BRICK is served by an OpenAI-compatible server (vLLM by default), which sees the trainer's output at /srv/bat-finetune. */
async function startWithOpenAI(options: OpenAIEmulatorOptions = {}) {
  openai = await OpenAIEmulator.start({ models: [BRICK], ...options });
  const dir = tempDir();
  folders.push(dir);
  const codex = writeTestCodex(dir.path, (c) => {
    c.personas.BRICK.provider = 'openai';
  });
  const h = await start({
    env: { CODEX_PATH: codex, OPENAI_BASE_URL: openai.url, FINETUNE_SHARED_DIR: '/srv/bat-finetune' },
  });
  openai.mounts['/srv/bat-finetune'] = join(h.runtime.config.dataDir, 'finetune');
  openai.respond((request) => (request.model.startsWith('batos-') ? CANDIDATE : INCUMBENT));
  return { h, openai };
}

const embedText = (message: EmulatedMessage | undefined) => JSON.stringify(message?.embeds ?? []);
/** The job's one log message, once its embed matches `pattern`. */
const jobMessage = (h: BotHarness, pattern: RegExp) =>
  h.discord.waitFor(() => {
    const found = h.discord
      .messages(h.channels.LOG_CHANNEL_ID ?? '')
      .find((m) => embedText(m).includes('Fine-tune ft1'));
    return found && pattern.test(embedText(found)) ? found : undefined;
  }, 10_000);
const answer = async (h: BotHarness, id: string) =>
  h.discord.waitFor(() => {
    const record = h.discord.interaction(id);
    return record.edits.at(-1)?.content ?? record.followups[0]?.content ?? record.responses[0]?.data?.content;
  });

/** An architect's /finetune run of BRICK, to its end. */
async function finetuneBrick(h: BotHarness): Promise<string> {
  const ada = architect(h);
  const run = await h.discord.runCommand(ada, h.discord.channelId, 'finetune', { persona: 'BRICK' }, 'run');
  expect(await answer(h, run.id)).toMatch(/Fine-tune ft1 of BRICK started/);
  await h.runtime.fineTuner.settled();
  return ada;
}

/** A task in the channel: BRICK's thesis comes from `brickModel`; resolves once the tuned thesis is posted. */
async function brickAnswersFrom(h: BotHarness, script: (model: string, replies: string[]) => void) {
  h.ollama.script(ALFRED, ['plan', 'answer']).script(ROBIN, ['antithesis\nDISSONANCE: 0.1']);
  script('batos-brick-v1', ['tuned thesis']);
  const message = h.discord.userSays(h.userId, h.discord.channelId, 'A task', { mentionBot: true });
  await h.discord.waitFor(
    () => h.discord.messages(message.id).find((m) => m.content.startsWith('tuned thesis')),
    10_000,
  );
}

const trainerArgs = (h: BotHarness) =>
  JSON.parse(
    readFileSync(join(h.runtime.config.dataDir, 'finetune', 'ft1', 'adapter', 'fake-trainer.json'), 'utf8'),
  ).argv as string[];

describe('a fine-tuned persona on the servers people run', () => {
  it('on an Ollama that refuses adapters, imports the merged model prompted as BRICK’s, and BRICK answers from it', async () => {
    const h = await start();
    // BRICK's model has a system prompt of its own: the import must carry it, with the template.
    h.ollama.prompting.set(BRICK, { ...BASE_PROMPTING, system: 'You are a brick.' });
    scriptEvaluation(h.ollama, { prefers: 'candidate' });
    await finetuneBrick(h);

    const message = await jobMessage(h, /Swapped in/);
    expect(embedText(message)).toMatch(
      /Registered.*merged model, q4_K_M, prompted as brick-test:latest \(Ollama 0\.34\.2 takes whole models only\): 8 files, [\d.]+ KB uploaded/,
    );
    expect(trainerArgs(h)).toEqual(expect.arrayContaining(['--export', 'both']));
    const created = h.ollama.created.get('batos-brick-v1:latest');
    expect(created).toMatchObject({
      quantize: 'q4_K_M',
      template: BASE_PROMPTING.template,
      system: 'You are a brick.',
      parameters: { stop: ['<|start_header_id|>', '<|end_header_id|>', '<|eot_id|>'], num_ctx: 8192 },
      adapters: {},
    });
    // Every file of the merged folder went up as a blob whose bytes are the file's.
    const merged = join(h.runtime.config.dataDir, 'finetune', 'ft1', 'adapter', 'merged');
    for (const [file, digest] of Object.entries(created?.files ?? {}))
      expect(h.ollama.blobs.get(digest)?.bytes).toEqual(readFileSync(join(merged, file)));
    expect(Object.keys(created?.files ?? {})).toEqual(
      expect.arrayContaining(['config.json', 'tokenizer.json', 'model-00002-of-00002.safetensors']),
    );
    expect(h.ollama.requests.some((r) => r.path === '/api/create' && 'adapters' in (r.body as object))).toBe(
      false,
    );

    await brickAnswersFrom(h, (model, replies) => h.ollama.script(model, replies));
    expect(h.ollama.chats('batos-brick-v1').at(-1)?.messages[0]?.content).toContain('You are BRICK');
  });

  it('on an Ollama below 0.34.1, registers the adapter on BRICK’s model, and BRICK answers from it', async () => {
    const h = await start();
    h.ollama.version = '0.33.2';
    scriptEvaluation(h.ollama, { prefers: 'candidate' });
    await finetuneBrick(h);

    const message = await jobMessage(h, /Swapped in/);
    expect(embedText(message)).toMatch(
      /adapter on brick-test:latest \(Ollama 0\.33\.2 takes adapters\): 2 files, [\d.]+ KB uploaded/,
    );
    expect(trainerArgs(h)).toEqual(expect.arrayContaining(['--export', 'adapter']));
    expect(h.ollama.created.get('batos-brick-v1:latest')).toMatchObject({
      from: BRICK,
      adapters: { 'adapter_model.safetensors': expect.stringMatching(/^sha256:/) },
      files: {},
    });
    await brickAnswersFrom(h, (model, replies) => h.ollama.script(model, replies));
  });

  it('on vLLM, loads the adapter at run time from FINETUNE_SHARED_DIR, swaps BRICK to it, and unloads it on rollback', async () => {
    const { h, openai } = await startWithOpenAI();
    scriptEvaluation(h.ollama, { prefers: 'candidate' });
    const ada = await finetuneBrick(h);

    const message = await jobMessage(h, /Swapped in/);
    // The public message names the folder, not the host's path (the load request below has it whole).
    expect(embedText(message)).toMatch(/loaded at run time on .* from …\/adapter/);
    expect(embedText(message)).not.toContain('/srv/bat-finetune');
    expect(trainerArgs(h)).toEqual(expect.arrayContaining(['--export', 'adapter']));
    const loads = openai.requests.filter((r) => r.path === '/v1/load_lora_adapter').map((r) => r.body);
    expect(loads.at(-1)).toEqual({ lora_name: 'batos-brick-v1', lora_path: '/srv/bat-finetune/ft1/adapter' });
    const models = async () =>
      ((await (await fetch(`${openai.url}/models`)).json()) as { data: Array<{ id: string }> }).data.map(
        (m) => m.id,
      );
    expect(await models()).toEqual([BRICK, 'batos-brick-v1']);
    // Evaluated on the server: the candidate answered under the adapter's name. Ollama made nothing.
    expect(openai.chats('batos-brick-v1').length).toBeGreaterThan(0);
    expect(h.ollama.requests.filter((r) => r.path === '/api/create')).toEqual([]);

    await brickAnswersFrom(h, (model, replies) => openai.script(model, replies));

    const rollback = await h.discord.runCommand(
      ada,
      h.discord.channelId,
      'finetune',
      { persona: 'BRICK' },
      'rollback',
    );
    expect(await answer(h, rollback.id)).toMatch(
      /BRICK now speaks through `brick-test:latest` \(version 0\)/,
    );
    await h.runtime.fineTuner.settled();
    expect(openai.requests.filter((r) => r.path === '/v1/unload_lora_adapter').map((r) => r.body)).toEqual([
      { lora_name: 'batos-brick-v1' },
    ]);
    expect(await models()).toEqual([BRICK]);
  });

  it('on a plain OpenAI-compatible server, fails the job before training, naming the flags to set', async () => {
    const { h, openai } = await startWithOpenAI({ runtimeLora: false });
    await finetuneBrick(h);
    const message = await jobMessage(h, /Failed/);
    expect(embedText(message)).toMatch(/--enable-lora.*VLLM_ALLOW_RUNTIME_LORA_UPDATING=True/);
    expect(await h.runtime.fineTuner.get('ft1')).toMatchObject({ state: 'failed' });
    // Refused before any training: the trainer never ran.
    expect(
      existsSync(join(h.runtime.config.dataDir, 'finetune', 'ft1', 'adapter', 'fake-trainer.json')),
    ).toBe(false);
    expect(openai.requests.filter((r) => r.path === '/v1/load_lora_adapter')).toHaveLength(1);
  });

  it('fails a job whose trainer puts merged_dir outside --output, and says so', async () => {
    const h = await start();
    process.env.FAKE_TRAINER_MODE = 'merged-outside';
    try {
      await finetuneBrick(h);
    } finally {
      delete process.env.FAKE_TRAINER_MODE;
    }
    const message = await jobMessage(h, /Failed/);
    expect(embedText(message)).toMatch(/merged_dir \(.*merged-elsewhere\) lies outside its --output folder/);
    expect(h.ollama.requests.filter((r) => r.path === '/api/create')).toEqual([]);
    expect(h.runtime.fineTuner.activeModel('BRICK')).toBeUndefined();
  });
});
