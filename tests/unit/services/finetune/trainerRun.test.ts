import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isInside, runTrainer, type TrainerRequest } from '../../../../src/services/finetune/trainerRun.ts';
import { ManualClock } from '../../../support/clock.ts';
import { FAKE_TRAINER } from '../../../support/finetuneScripts.ts';
import { tempFolders } from '../../../support/fixtures.ts';

const folders = tempFolders();
afterEach(() => {
  folders.cleanup();
  delete process.env.FAKE_TRAINER_MODE;
});

/** A run of the fake trainer on a one-sample dataset, in a fresh job folder. */
function request(change: Partial<TrainerRequest> = {}): TrainerRequest {
  const folder = folders.folder();
  const dataset = join(folder, 'train.jsonl');
  writeFileSync(
    dataset,
    `${JSON.stringify({
      messages: [
        { role: 'user', content: 'q' },
        { role: 'assistant', content: 'a' },
      ],
    })}\n`,
  );
  return {
    command: FAKE_TRAINER,
    dataset,
    base: 'unsloth/Llama-3.2-1B-Instruct',
    output: join(folder, 'adapter'),
    logPath: join(folder, 'trainer.log'),
    timeoutMs: 60_000,
    clock: new ManualClock(),
    environment: process.env,
    passEnv: ['FAKE_TRAINER_*'],
    onEvent: () => {},
    ...change,
  };
}

const given = (output: string) => JSON.parse(readFileSync(join(output, 'fake-trainer.json'), 'utf8'));

describe('the trainer contract’s exports', () => {
  it('passes --export (both by default) and returns the merged folder the trainer names', async () => {
    const both = request();
    const outcome = await runTrainer(both);
    expect(outcome).toMatchObject({
      ok: true,
      adapterDir: both.output,
      mergedDir: join(both.output, 'merged'),
    });
    expect(given(both.output).argv).toEqual(expect.arrayContaining(['--export', 'both']));

    const adapter = request({ export: 'adapter' });
    const alone = await runTrainer(adapter);
    expect(alone).toMatchObject({ ok: true });
    expect(alone).not.toHaveProperty('mergedDir');
    expect(given(adapter.output).argv).toEqual(expect.arrayContaining(['--export', 'adapter']));

    // Merged alone: no adapter files are needed, the merged folder is.
    const merged = request({ export: 'merged' });
    expect(await runTrainer(merged)).toMatchObject({ ok: true, mergedDir: join(merged.output, 'merged') });
  });

  it('fails a run whose merged_dir or adapter_dir lies outside --output', async () => {
    process.env.FAKE_TRAINER_MODE = 'merged-outside';
    expect(await runTrainer(request())).toMatchObject({
      ok: false,
      reason: expect.stringMatching(
        /^the trainer's merged_dir \(.*merged-elsewhere\) lies outside its --output folder/,
      ),
    });
    process.env.FAKE_TRAINER_MODE = 'adapter-outside';
    expect(await runTrainer(request())).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^the trainer's adapter_dir \(.*adapter-elsewhere\) lies outside/),
    });
  });

  it('fails a merged folder without config.json or weights, and a merged-only run without one', async () => {
    // A trainer script that names an empty merged folder inside --output.
    const folder = folders.folder();
    const script = join(folder, 'trainer.mjs');
    writeFileSync(
      script,
      `import { mkdirSync } from 'node:fs';
const output = process.argv[process.argv.indexOf('--output') + 1];
const wanted = process.argv[process.argv.indexOf('--export') + 1];
mkdirSync(output + '/merged', { recursive: true });
console.log(JSON.stringify({ event: 'done', adapter_dir: output, final_loss: null, steps: 0,
  ...(wanted === 'merged' ? {} : { merged_dir: output + '/merged' }) }));`,
    );
    const command = `${process.execPath} ${script}`;
    expect(await runTrainer(request({ command, export: 'adapter' }))).toMatchObject({
      ok: false,
      reason: 'the adapter lacks adapter_model.safetensors and adapter_config.json',
    });
    expect(await runTrainer(request({ command, export: 'both' }))).toMatchObject({ ok: false });
    const both = request({ command, export: 'both' });
    mkdirSync(both.output, { recursive: true });
    writeFileSync(join(both.output, 'adapter_model.safetensors'), 'w');
    writeFileSync(join(both.output, 'adapter_config.json'), '{}');
    expect(await runTrainer(both)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(
        /the merged weights \(.*merged\) lack config\.json and \*\.safetensors weights/,
      ),
    });
    expect(await runTrainer(request({ command, export: 'merged' }))).toMatchObject({
      ok: false,
      reason: 'the trainer wrote no merged weights (no merged_dir in its done event)',
    });
  });

  it('counts a link that leads out of the folder as outside', () => {
    const root = folders.folder();
    const away = folders.folder();
    mkdirSync(join(root, 'inside'));
    symlinkSync(away, join(root, 'merged'));
    expect(isInside(join(root, 'inside'), root)).toBe(true);
    expect(isInside(root, root)).toBe(true);
    expect(isInside(join(root, '..'), root)).toBe(false);
    expect(isInside(join(root, 'merged'), root)).toBe(false);
    rmSync(join(root, 'merged'));
    // A folder not written yet is judged by its path.
    expect(isInside(join(root, 'later', 'merged'), root)).toBe(true);
  });
});

describe('a trainer that breaks the contract with links', () => {
  it.each([
    [
      'adapter-link',
      /^the trainer's adapter_dir \(.*linked\) goes through a symbolic link \(.*linked\): only real folders inside its --output folder count$/,
    ],
    [
      'adapter-file-link',
      /^the adapter's adapter_model\.safetensors is a symbolic link: only files the trainer wrote inside its --output folder count$/,
    ],
    [
      'merged-file-link',
      /^the merged weights \(.*merged\) hold a symbolic link \(model-00002-of-00002\.safetensors\): only files the trainer wrote/,
    ],
  ])('fails the run, saying which link, when the trainer plants one (%s)', async (mode, reason) => {
    process.env.FAKE_TRAINER_MODE = mode;
    expect(await runTrainer(request())).toMatchObject({ ok: false, reason: expect.stringMatching(reason) });
  });

  it('refuses a link as --output itself, or a file where a folder should be', async () => {
    // A trainer script that swaps --output for a link to a folder elsewhere, then names it.
    const folder = folders.folder();
    const script = join(folder, 'trainer.mjs');
    writeFileSync(
      script,
      `import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
const output = process.argv[process.argv.indexOf('--output') + 1];
const away = output + '-away';
mkdirSync(away, { recursive: true });
writeFileSync(away + '/adapter_model.safetensors', 'w');
writeFileSync(away + '/adapter_config.json', '{}');
rmSync(output, { recursive: true, force: true });
symlinkSync(away, output);
console.log(JSON.stringify({ event: 'done', adapter_dir: output, final_loss: null, steps: 0 }));`,
    );
    const swapped = request({ command: `${process.execPath} ${script}`, export: 'adapter' });
    expect(await runTrainer(swapped)).toMatchObject({
      ok: false,
      reason: `the trainer's adapter_dir (${swapped.output}) goes through a symbolic link (${swapped.output}): only real folders inside its --output folder count`,
    });

    const file = join(folder, 'file.mjs');
    writeFileSync(
      file,
      `import { mkdirSync, writeFileSync } from 'node:fs';
const output = process.argv[process.argv.indexOf('--output') + 1];
mkdirSync(output, { recursive: true });
writeFileSync(output + '/merged', 'not a folder');
console.log(JSON.stringify({ event: 'done', adapter_dir: output, merged_dir: output + '/merged', final_loss: null, steps: 0 }));`,
    );
    const flat = request({ command: `${process.execPath} ${file}`, export: 'merged' });
    expect(await runTrainer(flat)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^the trainer's merged_dir \(.*merged\) is not a folder/),
    });
  });
});

describe('a trainer that floods its output', () => {
  it('cuts a 200 MB line without holding it, logs it once with its length, and reads the events after it', async () => {
    const megabytes = 200;
    const overlong: Array<[string, number]> = [];
    const events: string[] = [];
    const run = request({
      environment: { ...process.env, FAKE_TRAINER_MODE: 'flood', FAKE_TRAINER_FLOOD_MB: String(megabytes) },
      onEvent: (event) => events.push(event.event),
      onOverlong: (stream, bytes) => overlong.push([stream, bytes]),
    });
    global.gc?.();
    const before = process.memoryUsage().rss;
    let peak = before;
    const probe = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 5);
    let outcome: Awaited<ReturnType<typeof runTrainer>>;
    try {
      outcome = await runTrainer(run);
    } finally {
      clearInterval(probe);
    }
    // The reason, if it failed, says why.
    expect(outcome.ok ? 'ok' : outcome.reason).toBe('ok');
    expect(outcome.malformed).toBe(0);
    expect(events).toEqual(['start', 'progress', 'progress', 'progress', 'progress', 'progress', 'done']);
    const bytes = megabytes * 1024 * 1024;
    expect(overlong).toEqual([['stdout', bytes]]);
    const log = readFileSync(run.logPath, 'utf8');
    expect(log).toContain(`(a line of ${bytes} bytes on stdout, longer than 65536 bytes, was cut) xxx`);
    // The log keeps the line's head only.
    expect(log.length).toBeLessThan(10_000);
    // Held whole, the line would have cost at least its 200 MB; cut, what grows is the pipe's
    // chunks waiting for the collector (about 40 MB).
    expect(peak - before).toBeLessThan(bytes / 2);
  }, 60_000);
});

describe('the trainer’s environment', () => {
  it('holds what training needs and what FINETUNE_ENV adds, never the bot’s secrets', async () => {
    const run = request({
      environment: {
        ...process.env,
        DISCORD_TOKEN: 'discord-secret',
        OPENAI_API_KEY: 'sk-secret',
        FINETUNE_COMMAND: 'python3 train.py',
        HF_TOKEN: 'hf-token',
        CUDA_VISIBLE_DEVICES: '0',
        WANDB_API_KEY: 'wandb',
        WANDB_PROJECT: 'bat-os',
      },
      passEnv: ['FAKE_TRAINER_*', 'WANDB_API_KEY'],
    });
    expect(await runTrainer(run)).toMatchObject({ ok: true });
    const seen: string[] = given(run.output).env;
    expect(seen).toEqual(
      expect.arrayContaining(['PATH', 'HF_TOKEN', 'CUDA_VISIBLE_DEVICES', 'WANDB_API_KEY']),
    );
    for (const secret of ['DISCORD_TOKEN', 'OPENAI_API_KEY', 'FINETUNE_COMMAND', 'WANDB_PROJECT'])
      expect(seen).not.toContain(secret);
  });
});
