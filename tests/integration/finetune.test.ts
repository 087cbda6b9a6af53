import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { examPath, readExam } from '../../src/services/finetune/exam.ts';
import { GENERAL_EXAM } from '../../src/services/finetune/generalExam.ts';
import { ManualClock, waitUntil } from '../support/clock.ts';
import { FINETUNE_TEST_ENV, scriptEvaluation, writeGolden } from '../support/finetuneScripts.ts';
import { TEST_MODELS } from '../support/fixtures.ts';
import { type Harness, startHarness } from '../support/harness.ts';
import { BASE_PROMPTING } from '../support/ollamaRegistry.ts';
import { scriptRound } from '../support/scripts.ts';

const { ROBIN } = TEST_MODELS;
let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

async function start(env: Record<string, string> = {}, overrides: Parameters<typeof startHarness>[0] = {}) {
  harness = await startHarness({ ...overrides, env: { ...FINETUNE_TEST_ENV, ...env } });
  writeGolden(harness.dataDir, 'ROBIN', 24);
  return harness;
}

describe('the UnslothForge through the fake trainer and the Ollama emulator', () => {
  it('trains, registers, evaluates and swaps a better ROBIN in; later calls use it', async () => {
    const h = await start();
    scriptEvaluation(h.emulator, { prefers: 'candidate' });
    const started = await h.runtime.fineTuner.start('ROBIN', { trigger: 'command', requestedBy: 'arch' });
    expect(started).toMatchObject({ ok: true, job: { id: 'ft1', persona: 'ROBIN', state: 'running' } });
    await h.runtime.fineTuner.settled();

    const job = await h.runtime.fineTuner.get('ft1');
    expect(job).toMatchObject({
      state: 'promoted',
      candidate: 'batos-robin-v1',
      version: 1,
      decidedBy: 'system',
    });
    expect(job?.samples).toBeGreaterThan(0);
    expect((job?.samples ?? 0) + (job?.holdout ?? 0)).toBe(24);
    expect(job?.losses.length).toBe(5);
    expect(job?.evaluation).toMatchObject({
      better: true,
      losses: 0,
      prompts: Math.min(6, job?.holdout ?? 0),
    });

    // The trainer got the snapshot (never the held-out samples) and the codex's base, and was
    // asked for both exports: a current Ollama takes the merged model only.
    const given = JSON.parse(
      readFileSync(join(h.dataDir, 'finetune', 'ft1', 'adapter', 'fake-trainer.json'), 'utf8'),
    );
    expect(given.argv).toEqual(expect.arrayContaining(['--base', 'unsloth/Meta-Llama-3.1-8B-Instruct']));
    expect(given.export).toBe('both');
    expect(given.dataset_lines).toBe(job?.samples);
    // The GPU was freed first; every file of the merged folder uploaded as a blob, then the
    // model imported from them, quantized, prompted as ROBIN's model is.
    const unloads = h.emulator.requests.filter(
      (r) => r.path === '/api/generate' && (r.body as { keep_alive?: number }).keep_alive === 0,
    );
    expect(unloads.map((r) => (r.body as { model: string }).model)).toContain(ROBIN);
    const created = h.emulator.created.get('batos-robin-v1:latest');
    expect(Object.keys(created?.files ?? {}).sort()).toEqual([
      'config.json',
      'generation_config.json',
      'model-00001-of-00002.safetensors',
      'model-00002-of-00002.safetensors',
      'model.safetensors.index.json',
      'special_tokens_map.json',
      'tokenizer.json',
      'tokenizer_config.json',
    ]);
    expect(h.emulator.blobs.size).toBe(8);
    expect(created).toMatchObject({
      adapters: {},
      quantize: 'q4_K_M',
      template: BASE_PROMPTING.template,
      parameters: { stop: ['<|start_header_id|>', '<|end_header_id|>', '<|eot_id|>'], num_ctx: 8192 },
    });
    expect(created?.from).toBeUndefined();
    // No adapter was offered to a server that refuses them.
    expect(
      h.emulator.requests.some((r) => r.path === '/api/create' && 'adapters' in (r.body as object)),
    ).toBe(false);
    expect(job?.registration).toMatchObject({
      provider: 'ollama',
      path: 'merged',
      uploaded: 8,
      reused: 0,
      summary: expect.stringMatching(
        /^merged model, q4_K_M, prompted as robin-test:latest \(Ollama 0\.34\.2 takes whole models only\): 8 files, .* uploaded$/,
      ),
    });
    expect(job?.registration?.bytes).toBe(
      [...h.emulator.blobs.values()].reduce((sum, blob) => sum + blob.size, 0),
    );
    expect(await h.runtime.fineTuner.versions('ROBIN')).toEqual([
      expect.objectContaining({
        version: 1,
        model: 'batos-robin-v1',
        provider: 'ollama',
        path: 'merged',
        datasetHash: job?.datasetHash,
        evaluation: expect.objectContaining({ better: true }),
      }),
    ]);

    // The swap: ROBIN's next call goes to the new model.
    scriptRound(h.emulator, { answer: 'done' });
    h.emulator.script('batos-robin-v1', ['tuned words\nDISSONANCE: 0.1']);
    await h.talk('after', 'A question');
    expect(h.emulator.chats().at(-2)?.model).toBe('batos-robin-v1');
  });

  it('keeps the model in force when the candidate loses, or drops ROBIN’s format', async () => {
    const h = await start();
    scriptEvaluation(h.emulator, { prefers: 'incumbent' });
    await h.runtime.fineTuner.start('ROBIN', { trigger: 'command', requestedBy: 'arch' });
    await h.runtime.fineTuner.settled();
    expect(await h.runtime.fineTuner.get('ft1')).toMatchObject({
      state: 'kept',
      evaluation: { better: false },
    });
    expect(h.runtime.fineTuner.activeModel('ROBIN')).toBeUndefined();

    // Judged better, but it forgot the DISSONANCE line: a format regression is never promoted.
    scriptEvaluation(h.emulator, { prefers: 'candidate', candidate: 'A fine answer with no score.' });
    await h.runtime.fineTuner.start('ROBIN', { trigger: 'command', requestedBy: 'arch' });
    await h.runtime.fineTuner.settled();
    const job = await h.runtime.fineTuner.get('ft2');
    expect(job).toMatchObject({ state: 'kept', evaluation: { better: false, formatCandidate: 0 } });
    expect(job?.evaluation?.verdict).toMatch(/format regression/);
    expect(h.runtime.fineTuner.activeModel('ROBIN')).toBeUndefined();
  });

  it('waits for the architect when FINETUNE_PROMOTION=architect; rolls back at once', async () => {
    const h = await start({ FINETUNE_PROMOTION: 'architect' });
    scriptEvaluation(h.emulator, { prefers: 'candidate' });
    await h.runtime.fineTuner.start('ROBIN', { trigger: 'command', requestedBy: 'arch' });
    await h.runtime.fineTuner.settled();
    expect((await h.runtime.fineTuner.get('ft1'))?.state).toBe('awaiting_architect');
    expect(h.runtime.fineTuner.activeModel('ROBIN')).toBeUndefined();
    expect(await h.runtime.fineTuner.promote('ft1', 'ada')).toMatchObject({
      ok: true,
      job: { state: 'promoted', decidedBy: 'ada' },
    });
    expect(h.runtime.fineTuner.activeModel('ROBIN')).toBe('batos-robin-v1');
    expect(await h.runtime.fineTuner.promote('ft1', 'ada')).toMatchObject({
      ok: false,
      code: 'NOT_AWAITING',
    });

    expect(await h.runtime.fineTuner.rollback('ROBIN', 'ada')).toMatchObject({
      ok: true,
      active: { version: 0, model: ROBIN },
    });
    expect(h.runtime.fineTuner.activeModel('ROBIN')).toBeUndefined();
    expect(await h.runtime.fineTuner.rollback('ROBIN', 'ada', 1)).toMatchObject({
      ok: true,
      active: { model: 'batos-robin-v1' },
    });
    expect(await h.runtime.fineTuner.rollback('ROBIN', 'ada', 7)).toMatchObject({
      ok: false,
      code: 'NO_SUCH_VERSION',
    });
  });

  it('refuses a persona without finetune_base, and a second job while one runs', async () => {
    const h = await start({ FINETUNE_PROMOTION: 'auto' }, {});
    expect(await h.runtime.fineTuner.start('NOBODY', { trigger: 'command', requestedBy: 'a' })).toMatchObject(
      {
        code: 'UNKNOWN_PERSONA',
      },
    );
    // A persona whose codex table names no Hugging Face base: told what to add.
    const codex = readFileSync(h.codexPath, 'utf8');
    writeFileSync(h.codexPath, codex.replace(/(\[personas\.BRICK\][\s\S]*?)finetune_base = "[^"]*"\n/, '$1'));
    await h.runtime.reloadCodex();
    writeGolden(h.dataDir, 'BRICK', 3);
    expect(await h.runtime.fineTuner.start('BRICK', { trigger: 'command', requestedBy: 'a' })).toMatchObject({
      code: 'NO_BASE',
      reason: expect.stringMatching(
        /BRICK has no finetune_base in the codex: add finetune_base = .* under \[personas\.BRICK\]/,
      ),
    });
    scriptEvaluation(h.emulator, { prefers: 'candidate' });
    // Asked at once: the store's lock lets one begin.
    const [first, second] = await Promise.all([
      h.runtime.fineTuner.start('ROBIN', { trigger: 'command', requestedBy: 'a' }),
      h.runtime.fineTuner.start('ROBIN', { trigger: 'schedule', requestedBy: 'system' }),
    ]);
    expect(first.ok).toBe(true);
    expect(second).toMatchObject({
      ok: false,
      code: 'BUSY',
      reason: expect.stringMatching(/already running \(ft1/),
    });
    await h.runtime.fineTuner.settled();
    expect(await h.runtime.fineTuner.jobs()).toHaveLength(1);
  });

  it('fails, unlocks and swaps nothing when the trainer fails, prints garbage to the end, or when Ollama refuses', async () => {
    const h = await start();
    process.env.FAKE_TRAINER_MODE = 'fails';
    try {
      await h.runtime.fineTuner.start('ROBIN', { trigger: 'command', requestedBy: 'a' });
      await h.runtime.fineTuner.settled();
      const failed = await h.runtime.fineTuner.get('ft1');
      expect(failed).toMatchObject({ state: 'failed', error: expect.stringMatching(/the trainer failed/) });
      expect(failed?.logTail).toMatch(/error/);

      // Garbage lines among the events are logged, not fatal.
      process.env.FAKE_TRAINER_MODE = 'garbage';
      scriptEvaluation(h.emulator, { prefers: 'candidate' });
      await h.runtime.fineTuner.start('ROBIN', { trigger: 'command', requestedBy: 'a' });
      await h.runtime.fineTuner.settled();
      expect((await h.runtime.fineTuner.get('ft2'))?.state).toBe('promoted');

      process.env.FAKE_TRAINER_MODE = 'ok';
      h.emulator.failCreate = { status: 500, error: 'unsupported architecture' };
      await h.runtime.fineTuner.start('ROBIN', { trigger: 'command', requestedBy: 'a' });
      await h.runtime.fineTuner.settled();
      expect(await h.runtime.fineTuner.get('ft3')).toMatchObject({
        state: 'failed',
        error: expect.stringMatching(/Ollama could not register the candidate: .*unsupported architecture/),
      });
      // The one good job's version stays in force; the failed ones swapped nothing.
      expect(h.runtime.fineTuner.activeModel('ROBIN')).toBe('batos-robin-v1');
      expect((await h.runtime.fineTuner.versions('ROBIN')).map((v) => v.version)).toEqual([1]);
    } finally {
      delete process.env.FAKE_TRAINER_MODE;
    }
  });

  it('stops a hung trainer at FINETUNE_TIMEOUT on the injected clock, and dialogues waited meanwhile, told why', async () => {
    const clock = new ManualClock();
    process.env.FAKE_TRAINER_MODE = 'hangs';
    try {
      const h = await start({ FINETUNE_TIMEOUT: '2h' }, { overrides: { clock } });
      let step = 0;
      h.runtime.bus.subscribe('finetune_job', ({ job }) => {
        step = job.step ?? step;
      });
      await h.runtime.fineTuner.start('ROBIN', { trigger: 'command', requestedBy: 'a' });
      // The trainer is a process of its own: on a busy machine it takes many turns to start.
      await waitUntil(() => step >= 1, 2_000_000);
      // A dialogue asks for the model while the trainer has the GPU: it waits, told why.
      scriptRound(h.emulator, { answer: 'late answer' });
      const events: Array<{ type: string; reason?: string }> = [];
      const talking = (async () => {
        for await (const event of h.runtime.dialogue.run({ conversationId: 'waits', message: 'hello' }))
          events.push(event);
      })();
      await waitUntil(() => events.some((e) => e.type === 'queued'));
      expect(events.find((e) => e.type === 'queued')?.reason).toMatch(/fine-tuning ROBIN/);
      await clock.advance(2 * 3_600_000);
      await h.runtime.fineTuner.settled();
      expect(await h.runtime.fineTuner.get('ft1')).toMatchObject({
        state: 'failed',
        error: expect.stringMatching(/FINETUNE_TIMEOUT/),
      });
      await talking;
      expect(events.at(-1)).toMatchObject({ type: 'done', answer: 'late answer' });
    } finally {
      delete process.env.FAKE_TRAINER_MODE;
    }
  });
});

describe('the swap', () => {
  it('lets a running call finish on the old model; the dialogue’s later calls use the new one', async () => {
    const h = await start({ FINETUNE_PROMOTION: 'architect' });
    scriptEvaluation(h.emulator, { prefers: 'candidate' });
    await h.runtime.fineTuner.start('ROBIN', { trigger: 'command', requestedBy: 'arch' });
    await h.runtime.fineTuner.settled();

    // BRICK's call waits on a gate; the architect promotes meanwhile; ROBIN then speaks.
    let open!: () => void;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    h.emulator.respond(async (request) => {
      if (request.model === TEST_MODELS.BRICK) {
        await gate;
        return 'thesis';
      }
      if (request.model.startsWith('batos-')) return 'new ROBIN\nDISSONANCE: 0.1';
      if (request.model === ROBIN) return 'old ROBIN\nDISSONANCE: 0.1';
      return 'words';
    });
    const talking = h.talk('mid-swap', 'A question');
    await waitUntil(() => h.emulator.chats(TEST_MODELS.BRICK).length > 0);
    expect((await h.runtime.fineTuner.promote('ft1', 'ada')).ok).toBe(true);
    open();
    const events = await talking;
    const robin = events.find((e) => e.type === 'turn' && e.persona === 'ROBIN');
    expect(robin).toMatchObject({ text: 'new ROBIN', model: 'batos-robin-v1' });
  });
});

describe('the nightly job', () => {
  it('fine-tunes the persona whose golden set grew by FINETUNE_TRIGGER_SIZE, as an autonomous job', async () => {
    const h = await start({ FINETUNE_TRIGGER_SIZE: '20' });
    scriptEvaluation(h.emulator, { prefers: 'candidate' });
    const job = h.runtime.fineTuner.job('0 3 * * *');
    // Autonomous: the scheduler holds it while a codex proposal is drafted or pending.
    expect(job.autonomous).toBe(true);
    h.runtime.scheduler.add(job);
    await expect(h.runtime.scheduler.runNow('finetune')).resolves.toMatchObject({
      outcome: 'ok',
      message: expect.stringMatching(/^fine-tuned ROBIN \(ft1\): promoted/),
    });
    // Grown by 4 since: not enough.
    writeGolden(h.dataDir, 'ROBIN', 4, 100);
    await expect(h.runtime.scheduler.runNow('finetune')).resolves.toMatchObject({
      message: 'no persona has 20 new golden samples yet',
    });
    writeGolden(h.dataDir, 'ROBIN', 16, 200);
    await expect(h.runtime.scheduler.runNow('finetune')).resolves.toMatchObject({
      message: expect.stringMatching(/ft2/),
    });
    expect(await h.runtime.fineTuner.get('ft2')).toMatchObject({
      trigger: 'schedule',
      requestedBy: 'system',
      goldenCount: 44,
    });
  });
});

describe('the frozen exam', () => {
  /** The user message of each prompt ROBIN's candidate `model` was asked. */
  const askedOf = (h: Harness, model: string) =>
    new Set(h.emulator.chats(model).map((chat) => chat.messages.find((m) => m.role === 'user')?.content));
  const userOf = (messages: ReadonlyArray<{ role: string; content: string }>) =>
    messages.find((m) => m.role === 'user')?.content;

  it('judges every candidate on the same prompts, grown only by appending, and never trains on them', async () => {
    const h = await start({ FINETUNE_EVAL_PROMPTS: '20' });
    scriptEvaluation(h.emulator, { prefers: 'candidate' });
    await h.runtime.fineTuner.start('ROBIN', { trigger: 'command', requestedBy: 'a' });
    await h.runtime.fineTuner.settled();
    const first = await h.runtime.fineTuner.get('ft1');
    const exam1 = readExam(examPath(h.dataDir, 'ROBIN'));
    const heldOut1 = exam1.filter((e) => e.source === 'held-out');
    expect(first?.exam).toMatchObject({
      prompts: heldOut1.length,
      general: GENERAL_EXAM.length,
      withdrawn: 0,
    });
    expect(first?.evaluation?.exam).toEqual({
      hash: first?.exam?.hash,
      prompts: heldOut1.length,
      general: GENERAL_EXAM.length,
    });
    // The candidate answered exactly the exam: its held-out prompts and the general ones.
    expect(askedOf(h, 'batos-robin-v1')).toEqual(new Set(exam1.map((e) => userOf(e.messages))));

    // More golden samples: the second job sits the same prompts, and those drawn since after them.
    writeGolden(h.dataDir, 'ROBIN', 24, 100);
    await h.runtime.fineTuner.start('ROBIN', { trigger: 'command', requestedBy: 'a' });
    await h.runtime.fineTuner.settled();
    const second = await h.runtime.fineTuner.get('ft2');
    const exam2 = readExam(examPath(h.dataDir, 'ROBIN'));
    expect(exam2.slice(0, exam1.length)).toEqual(exam1);
    expect(exam2.length).toBeGreaterThan(exam1.length);
    expect(exam2.slice(exam1.length).every((e) => e.source === 'held-out' && e.added_by === 'ft2')).toBe(
      true,
    );
    expect(second?.exam).toMatchObject({ appended: exam2.length - exam1.length, withdrawn: 0 });
    expect(second?.exam?.prompts).toBeLessThanOrEqual(20);
    expect(askedOf(h, 'batos-robin-v2')).toEqual(new Set(exam2.map((e) => userOf(e.messages))));
    // Never trained on: the second snapshot's train file holds none of the exam's prompts.
    const trained = readFileSync(join(h.dataDir, 'finetune', 'ft2', 'train.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) =>
        userOf((JSON.parse(line) as { messages: Array<{ role: string; content: string }> }).messages),
      );
    expect(trained.length).toBe(second?.samples);
    for (const entry of exam2) expect(trained).not.toContain(userOf(entry.messages));

    // Nothing new held out: the third candidate sits the very same exam, and the lineage says so.
    await h.runtime.fineTuner.start('ROBIN', { trigger: 'command', requestedBy: 'a' });
    await h.runtime.fineTuner.settled();
    const versions = await h.runtime.fineTuner.versions('ROBIN');
    expect(versions.map((v) => v.evaluation?.exam?.hash)).toEqual([
      first?.exam?.hash,
      second?.exam?.hash,
      second?.exam?.hash,
    ]);
    expect(readExam(examPath(h.dataDir, 'ROBIN'))).toEqual(exam2);
  });

  it('refuses before training when the exam is too small for the rule to ever promote, and says why', async () => {
    harness = await startHarness({
      env: { ...FINETUNE_TEST_ENV, FINETUNE_PROMOTE_RULE: 'lower-bound', FINETUNE_EVAL_PROMPTS: '20' },
    });
    const h = harness;
    writeGolden(h.dataDir, 'ROBIN', 2);
    await h.runtime.fineTuner.start('ROBIN', { trigger: 'command', requestedBy: 'a' });
    await h.runtime.fineTuner.settled();
    const job = await h.runtime.fineTuner.get('ft1');
    expect(job).toMatchObject({
      state: 'refused',
      stage: 'done',
      exam: { fewest: 4, rule: 'lower-bound', general: GENERAL_EXAM.length },
      note: expect.stringMatching(
        /^ROBIN's exam holds [0-2] held-out prompts?: with FINETUNE_PROMOTE_RULE=lower-bound a candidate can only be promoted on 4 or more, even if it wins every one\. Nothing was trained\. .*wait for more golden samples/,
      ),
    });
    expect(job?.exam?.smallestShare).toBeUndefined();
    expect(job?.evaluation).toBeUndefined();
    // No GPU time was spent: the trainer never ran, nothing was registered or swapped.
    expect(existsSync(join(h.dataDir, 'finetune', 'ft1', 'adapter', 'fake-trainer.json'))).toBe(false);
    expect(await h.runtime.fineTuner.versions('ROBIN')).toEqual([]);
    expect(h.runtime.fineTuner.activeModel('ROBIN')).toBeUndefined();
  });
});
