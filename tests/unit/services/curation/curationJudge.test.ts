import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { CurationSettings } from '../../../../src/services/codex/codexSchema.ts';
import { parseCodex } from '../../../../src/services/codex/loadCodex.ts';
import { judgePersona } from '../../../../src/services/curation/curationJudge.ts';
import { CRITERIA } from '../../../../src/services/curation/rubric.ts';
import type { ChatMessage, ModelOverrides } from '../../../../src/services/llm/chatModel.ts';
import { createLogger } from '../../../../src/services/logger.ts';
import type { StoredRecord } from '../../../../src/services/memory/interactionLog.ts';
import { createPersonaRegistry } from '../../../../src/services/personas.ts';
import { ManualClock } from '../../../support/clock.ts';
import { REAL_CODEX_PATH } from '../../../support/fixtures.ts';

const registry = createPersonaRegistry(parseCodex(readFileSync(REAL_CODEX_PATH, 'utf8'), 'codex.toml'));

const record: StoredRecord = {
  id: 'r1',
  seq: 1,
  conversationId: 'c1',
  run: 1,
  task: 'Should I buy a bicycle?',
  answer: 'Buy it.',
  turns: [
    {
      speaker: 'BRICK',
      kind: 'thesis',
      system: 'You are BRICK.',
      prompt: 'p',
      output: 'It pays off.',
      at: 0,
    },
    {
      speaker: 'ROBIN',
      kind: 'antithesis',
      system: 'You are ROBIN.',
      prompt: 'p',
      output: 'And it is fun!\nDISSONANCE: 0.2',
      at: 0,
    },
    { speaker: 'ALFRED', kind: 'answer', system: 'You are ALFRED.', prompt: 'p', output: 'Buy it.', at: 0 },
  ],
  models: [],
  trajectory: [],
  finalDissonance: 0.2,
  codexVersion: 1,
  startedAt: 0,
  finishedAt: 0,
  embedded: false,
};

/** A judge whose model answers `answer`, and what it was asked and logged. */
function judgeAnswering(answer: string, settings: CurationSettings = { judge: 'ALFRED' }) {
  const calls: Array<{ persona: string; overrides: ModelOverrides | undefined; messages: ChatMessage[] }> =
    [];
  const records: Array<{ level: number; msg: string; problem?: string; persona?: string }> = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      records.push(JSON.parse(String(chunk)));
      done();
    },
  });
  const deps = {
    modelFor: (persona: string, overrides?: ModelOverrides) => ({
      model: overrides?.model ?? registry.get(persona).model,
      invoke: async (messages: readonly ChatMessage[]) => {
        calls.push({ persona, overrides, messages: [...messages] });
        return answer;
      },
    }),
    personas: () => registry,
    judge: () => settings,
    ledger: { noteFailure: async () => 1 },
    clock: new ManualClock(),
    log: createLogger({ level: 'debug', destination }),
    options: { threshold: 4 },
    signal: new AbortController().signal,
  };
  return { deps, calls, records };
}

const answer = (points: number[], extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    reason: 'kind and clear',
    scores: Object.fromEntries(CRITERIA.map((c, i) => [c, points[i]])),
    ...extra,
  });

describe('judgePersona: the points are the verdict', () => {
  it('recomputes a total that disagrees with the points, and logs it', async () => {
    const { deps, records } = judgeAnswering(answer([1, 1, 1, 1, 0], { total: 5 }));
    const verdict = await judgePersona(deps, record, 'ROBIN');
    expect(verdict).toMatchObject({ status: 'judged', total: 4, kept: true, reason: 'kind and clear' });
    expect(records).toContainEqual(
      expect.objectContaining({
        level: 40,
        persona: 'ROBIN',
        problem: 'total 5 is not the sum of the scores; the points make 4',
        msg: "the judge's stated total gave way to the sum of its points",
      }),
    );
  });

  it('computes a missing total from the points', async () => {
    const { deps } = judgeAnswering(answer([1, 1, 0, 1, 0]));
    expect(await judgePersona(deps, record, 'ROBIN')).toMatchObject({
      status: 'judged',
      total: 3,
      kept: false,
    });
  });

  it('logs nothing when the total is the sum', async () => {
    const { deps, records } = judgeAnswering(answer([1, 1, 1, 1, 1], { total: 5 }));
    expect(await judgePersona(deps, record, 'ROBIN')).toMatchObject({ status: 'judged', total: 5 });
    expect(records.filter((r) => r.level >= 40)).toEqual([]);
  });

  it.each([
    ['a point of 7', answer([7, 1, 1, 1, 1], { total: 11 }), 'principles scored 7, not 0 or 1'],
    ['a NaN point', '{"reason": "x", "scores": {"principles": NaN}, "total": NaN}', /^not JSON/],
    ['a point out of range', answer([1, 1, -1, 1, 1], { total: 3 }), 'answers_task scored -1, not 0 or 1'],
  ])('counts %s as no verdict, logged, and never throws', async (_name, text, problem) => {
    const { deps, records } = judgeAnswering(text);
    const verdict = await judgePersona(deps, record, 'ROBIN');
    expect(verdict).toMatchObject({ status: 'invalid', total: null, scores: null, kept: false });
    expect(verdict.reason).toMatch(problem);
    expect(records).toContainEqual(
      expect.objectContaining({ level: 40, msg: 'the judge gave no valid verdict; not golden' }),
    );
  });
});

describe('judgePersona: the judge’s model', () => {
  it('is the judge persona’s own codex model by default, on its own server, at temperature 0', async () => {
    const { deps, calls } = judgeAnswering(answer([1, 1, 1, 1, 1], { total: 5 }));
    const verdict = await judgePersona(deps, record, 'BRICK');
    expect(calls[0]).toMatchObject({
      persona: 'ALFRED',
      overrides: { temperature: 0, model: registry.get('ALFRED').model },
    });
    expect(calls[0]?.overrides).not.toHaveProperty('provider');
    expect(verdict).toMatchObject({ judge: 'ALFRED', judgeModel: registry.get('ALFRED').model });
  });

  it('is `judge_model` on `judge_provider` when the codex names them', async () => {
    const settings = { judge: 'ALFRED', judge_model: 'big-judge:70b', judge_provider: 'openai' as const };
    const { deps, calls } = judgeAnswering(answer([1, 1, 1, 1, 1], { total: 5 }), settings);
    const verdict = await judgePersona(deps, record, 'BRICK');
    expect(calls[0]?.overrides).toEqual({ temperature: 0, model: 'big-judge:70b', provider: 'openai' });
    expect(verdict).toMatchObject({ judgeModel: 'big-judge:70b' });
  });

  it('reads `model`, the older name of `judge_model`', async () => {
    const { deps, calls } = judgeAnswering(answer([1, 1, 1, 1, 1]), { judge: 'ALFRED', model: 'old-judge' });
    await judgePersona(deps, record, 'BRICK');
    expect(calls[0]?.overrides).toEqual({ temperature: 0, model: 'old-judge' });
  });

  it('asks with the rubric as the system message and the transcript as the user message', async () => {
    const { deps, calls } = judgeAnswering(answer([1, 1, 1, 1, 1]));
    await judgePersona(deps, record, 'ROBIN');
    const [system, user] = calls[0]?.messages ?? [];
    expect(system).toMatchObject({
      role: 'system',
      content: expect.stringMatching(/The persona judged: .* \(ROBIN\)/),
    });
    expect(JSON.parse(user?.content ?? '')).toMatchObject({
      task: 'Should I buy a bicycle?',
      turns: [
        { speaker: 'BRICK', judged: false, text: 'It pays off.' },
        { speaker: 'ROBIN', judged: true, prompt: 'p' },
        { speaker: 'ALFRED', judged: false },
      ],
      answer_turn: 3,
    });
  });
});
