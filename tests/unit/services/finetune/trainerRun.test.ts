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
