import { describe, expect, it } from 'vitest';
import { type EvaluationDeps, evaluate } from '../../../../src/services/finetune/evaluation.ts';
import type { ChatMessage } from '../../../../src/services/llm/chatModel.ts';

const CANDIDATE = 'tuned answer\nDISSONANCE: 0.2';
const INCUMBENT = 'old answer\nDISSONANCE: 0.3';

const ask = (content: string): ChatMessage[] => [
  { role: 'system', content: 'You are ROBIN.' },
  { role: 'user', content },
];
const own = (n: number) => Array.from({ length: n }, (_, i) => ask(`own question ${i}`));
const general = (n: number) => Array.from({ length: n }, (_, i) => ask(`general question ${i}`));

/**
 * Fakes of the two models and the judge: the judge prefers, on each part of the exam, the answer
 * `prefers` names, in whichever order it is shown; it counts the calls.
 */
function fakes(prefers: {
  own: 'candidate' | 'incumbent' | 'tie';
  general: 'candidate' | 'incumbent' | 'tie';
}) {
  const calls = { answers: 0, judged: 0 };
  const deps: EvaluationDeps = {
    answer: async (model) => {
      calls.answers++;
      return model === 'batos-robin-v2' ? CANDIDATE : INCUMBENT;
    },
    judge: async (prompt) => {
      calls.judged++;
      const choice = /general question/.test(prompt) ? prefers.general : prefers.own;
      if (choice === 'tie') return JSON.stringify({ better: 'tie', reason: 'alike' });
      const a = prompt.slice(prompt.indexOf('Answer A:'), prompt.indexOf('Answer B:'));
      const wanted = choice === 'candidate' ? 'tuned answer' : 'old answer';
      return JSON.stringify({ better: a.includes(wanted) ? 'A' : 'B', reason: 'clearer' });
    },
    formatOk: (text) => /DISSONANCE: [\d.]+$/.test(text),
    persona: { id: 'ROBIN', role: 'the heart', principles: ['Be kind.'] },
    rule: 'lower-bound',
  };
  return { deps, calls };
}

const MODELS = { candidate: 'batos-robin-v2', incumbent: 'robin-test:latest' };

describe('the evaluation on a persona’s exam', () => {
  it('promotes a candidate better on its own prompts and not worse elsewhere, recording the exam', async () => {
    const { deps } = fakes({ own: 'candidate', general: 'tie' });
    const report = await evaluate({ heldOut: own(6), general: general(4), hash: 'abc' }, MODELS, deps);
    expect(report).toMatchObject({
      better: true,
      prompts: 6,
      wins: 6,
      general: { prompts: 4, ties: 4, score: 0.5 },
      exam: { hash: 'abc', prompts: 6, general: 4 },
      smallestShare: 11 / 12,
    });
    expect(report.verdict).toMatch(
      /^better: 100% \(6 won, 0 tied, 0 lost of 6\), lower 95% bound 0\.61 > 0\.5; general prompts 50%/,
    );
  });

  it('holds back a candidate that got better on its niche and clearly worse on the general prompts', async () => {
    const { deps } = fakes({ own: 'candidate', general: 'incumbent' });
    const report = await evaluate({ heldOut: own(6), general: general(6), hash: 'abc' }, MODELS, deps);
    expect(report.better).toBe(false);
    expect(report.general).toMatchObject({ losses: 6, score: 0 });
    expect(report.verdict).toMatch(
      /^better on its own prompts \(100% .*\) but worse on the general ones: 0% \(0 won, 0 tied, 6 lost of 6\), upper 95% bound 0\.39 < 0\.5$/,
    );
  });

  it('says which share would have been promoted when the candidate is not better', async () => {
    const { deps } = fakes({ own: 'tie', general: 'tie' });
    const report = await evaluate({ heldOut: own(20), general: general(2), hash: 'abc' }, MODELS, deps);
    expect(report.better).toBe(false);
    expect(report.verdict).toBe(
      'not better: 50% (0 won, 20 tied, 0 lost of 20), lower 95% bound 0.30 ≤ 0.5; 72.5% would have been promoted',
    );
  });

  it('asks no model on an exam too small for the rule, and says so instead of "not better"', async () => {
    const { deps, calls } = fakes({ own: 'candidate', general: 'candidate' });
    const report = await evaluate({ heldOut: own(3), general: general(12), hash: 'abc' }, MODELS, deps);
    expect(calls).toEqual({ answers: 0, judged: 0 });
    expect(report.better).toBe(false);
    expect(report.smallestShare).toBeUndefined();
    expect(report.verdict).toMatch(/^the exam is too small to promote anything: 3 held-out prompts/);
    expect(report.verdict).not.toMatch(/not better/);
  });
});
