import { afterEach, describe, expect, it } from 'vitest';
import { verdictSchema } from '../../src/services/curation/rubric.ts';
import { findAppError } from '../../src/services/errors.ts';
import { judgedPersona, readGolden, verdict } from '../support/curation.ts';
import { FAKE_TRAINER, writeGolden } from '../support/finetuneScripts.ts';
import { TEST_MODELS } from '../support/fixtures.ts';
import { type Harness, startHarness } from '../support/harness.ts';
import { OpenAIEmulator } from '../support/openaiEmulator.ts';
import { scriptRound } from '../support/scripts.ts';

/**
 * `[curation] judge_model` on the other server than the judge persona's: the personas speak
 * through Ollama, and a larger model on the OpenAI-compatible server judges, for curation and for
 * the fine-tune's evaluation alike.
 */

const BIG_JUDGE = 'big-judge-70b';
let harness: Harness | undefined;
let openai: OpenAIEmulator | undefined;
afterEach(async () => {
  await harness?.close();
  await openai?.close();
  harness = undefined;
  openai = undefined;
});

async function start(env: Record<string, string> = {}) {
  openai = await OpenAIEmulator.start({ models: [BIG_JUDGE] });
  harness = await startHarness({
    // The judge is under test, not the scope: the harness's dialogues are recorded without a visibility.
    env: { OPENAI_BASE_URL: openai.url, MEMORY_RECALL_K: '0', CURATION_SCOPE: 'all', ...env },
    codex: (codex) => {
      codex.curation = { judge: 'ALFRED', judge_model: BIG_JUDGE, judge_provider: 'openai' };
    },
  });
  return { openai, harness };
}

const isJudging = (request: { body: Record<string, unknown> }) => request.body.response_format !== undefined;

describe('a judge model on the other server (`judge_provider`)', () => {
  it('judges curation there, with the JSON Schema, while the personas stay on Ollama', async () => {
    const { openai, harness } = await start();
    scriptRound(harness.emulator, {
      plan: 'plan',
      thesis: 'thesis',
      antithesis: 'antithesis',
      answer: 'answer',
    });
    await harness.talk('c-big', 'task big');
    openai.respond(() => verdict(5, 'judged big'));

    const report = await harness.runtime.curation.run();

    const asked = openai.chats(BIG_JUDGE);
    expect(asked).toHaveLength(3);
    for (const request of asked) {
      expect(request.messages.map((m) => m.role)).toEqual(['system', 'user']);
      expect(request.body).toMatchObject({
        temperature: 0,
        response_format: { type: 'json_schema', json_schema: { schema: verdictSchema() } },
      });
    }
    expect(asked.map((r) => judgedPersona({ messages: r.messages } as never))).toEqual([
      'ALFRED',
      'BRICK',
      'ROBIN',
    ]);
    expect(harness.emulator.chats().filter((r) => r.body.format !== undefined)).toEqual([]);
    expect(report.verdicts.map((v) => [v.persona, v.judgeModel, v.reason])).toEqual([
      ['ALFRED', BIG_JUDGE, 'judged big'],
      ['BRICK', BIG_JUDGE, 'judged big'],
      ['ROBIN', BIG_JUDGE, 'judged big'],
    ]);
    expect(readGolden(harness.dataDir, 'BRICK.jsonl')[0]?.meta).toMatchObject({
      judge: 'ALFRED',
      judge_model: BIG_JUDGE,
    });
  });

  it('judges the fine-tune’s evaluation there too', async () => {
    const { openai, harness } = await start({
      FINETUNE_COMMAND: FAKE_TRAINER,
      FINETUNE_HOLDOUT: '0.5',
      FINETUNE_EVAL_PROMPTS: '4',
      FINETUNE_PROMOTE_RULE: 'majority',
      FINETUNE_PROMOTION: 'auto',
    });
    writeGolden(harness.dataDir, 'ROBIN', 24);
    const candidate = 'A fine answer, tuned.\nDISSONANCE: 0.2';
    harness.emulator.respond((request) =>
      request.model.startsWith('batos-') ? candidate : 'An answer.\nDISSONANCE: 0.3',
    );
    openai.respond((request) => {
      const prompt = request.messages.at(-1)?.content ?? '';
      const a = prompt.slice(prompt.indexOf('Answer A:'), prompt.indexOf('Answer B:'));
      return JSON.stringify({ better: a.includes('tuned') ? 'A' : 'B', reason: 'clearer' });
    });

    expect(
      await harness.runtime.fineTuner.start('ROBIN', { trigger: 'command', requestedBy: 'arch' }),
    ).toMatchObject({
      ok: true,
    });
    await harness.runtime.fineTuner.settled();

    expect(harness.runtime.fineTuner.get('ft1')).toMatchObject({
      state: 'promoted',
      evaluation: { better: true, losses: 0 },
    });
    const judged = openai.chats(BIG_JUDGE);
    expect(judged.length).toBeGreaterThan(0);
    expect(judged.every((r) => isJudging(r) && r.body.temperature === 0)).toBe(true);
    // No pairwise verdict was asked of the personas' server, whose models still answered.
    expect(harness.emulator.chats().filter((r) => r.body.format !== undefined)).toEqual([]);
    expect(harness.emulator.chats(TEST_MODELS.ROBIN).length).toBeGreaterThan(0);
  });

  it('says what to set when that server is not configured', async () => {
    harness = await startHarness({
      codex: (codex) => {
        codex.curation = { judge: 'ALFRED', judge_model: BIG_JUDGE, judge_provider: 'openai' };
      },
      env: { CURATION_SCOPE: 'all' },
    });
    scriptRound(harness.emulator, {
      plan: 'plan',
      thesis: 'thesis',
      antithesis: 'antithesis',
      answer: 'answer',
    });
    await harness.talk('c-none', 'task none');

    // The run stops and waits, run after run: the server is missing, not the dialogue at fault.
    for (let run = 1; run <= 4; run++) {
      expect(await harness.runtime.curation.run()).toMatchObject({
        dialogues: 0,
        stopped: expect.stringMatching(/the model big-judge-70b is served by .* OPENAI_BASE_URL is not set/),
      });
    }
    const refused = await harness.runtime.providers
      .check([{ persona: 'ALFRED', model: BIG_JUDGE, provider: 'openai' }])
      .catch((e: unknown) => e);
    expect(findAppError(refused)).toMatchObject({ code: 'LLM_NOT_CONFIGURED' });
  });
});
