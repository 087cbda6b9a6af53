import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { contentHash, SAMPLE_FORMAT, type SampleMeta } from '../../src/services/curation/sample.ts';
import { REPO_ROOT, TEST_MODELS } from './fixtures.ts';
import type { EmulatedRequest, OllamaEmulator } from './ollamaEmulator.ts';

/** The trainer the tests run: the fake that speaks the trainer's contract (modes by environment). */
export const FAKE_TRAINER = `node ${join(REPO_ROOT, 'tests', 'support', 'fakeTrainer.mjs')}`;

/**
 * The settings the fine-tune tests start the bot with: the fake trainer (it takes its mode from the
 * environment, and the trainer gets only what FINETUNE_ENV adds), an exam the majority rule can
 * promote on from 24 golden samples, a better candidate swapped in at once (most tests are about
 * the job, not who promotes), and no recall in the dialogues.
 */
export const FINETUNE_TEST_ENV: Readonly<Record<string, string>> = {
  FINETUNE_COMMAND: FAKE_TRAINER,
  FINETUNE_ENV: 'FAKE_TRAINER_*',
  FINETUNE_HOLDOUT: '0.5',
  FINETUNE_EVAL_PROMPTS: '6',
  FINETUNE_PROMOTE_RULE: 'majority',
  FINETUNE_PROMOTION: 'auto',
  MEMORY_RECALL_K: '0',
};

/** Writes `count` golden samples for a persona, as curation would (each a distinct conversation). */
export function writeGolden(dataDir: string, persona: string, count: number, start = 0): void {
  const folder = join(dataDir, 'golden');
  mkdirSync(folder, { recursive: true });
  const lines = Array.from({ length: count }, (_, i) => {
    const n = start + i;
    const messages = [
      { role: 'system' as const, content: `You are ${persona}.` },
      { role: 'user' as const, content: `Question ${n}: should we plant tree ${n}?` },
      { role: 'assistant' as const, content: `Answer ${n}: plant it with care.\nDISSONANCE: 0.2` },
    ];
    const meta: SampleMeta = {
      format: SAMPLE_FORMAT,
      interaction_id: `r${n}`,
      conversation_id: `c${n}`,
      persona,
      kind: 'antithesis',
      turn: 2,
      model: 'robin-test:latest',
      codex_version: 1,
      judge: 'ALFRED',
      judge_model: 'alfred-test:latest',
      rubric_version: 'c1-test',
      scores: { principles: 1, reasoning: 1, answers_task: 1, format: 1, no_harm: 1 },
      total: 5,
      reason: 'good',
      content_hash: contentHash(messages),
      spoke_at: '2026-11-30T00:00:00.000Z',
      curated_at: '2026-11-30T00:00:00.000Z',
      guild_id: null,
      channel_id: null,
      // Held where everyone may read it, and of no member: every snapshot takes it.
      visibility: 'public',
      members: [],
      recalled: [],
    };
    return JSON.stringify({ messages, meta });
  });
  writeFileSync(join(folder, `${persona}.jsonl`), `${lines.join('\n')}\n`, { flag: 'a' });
}

/**
 * Answers the evaluation: the candidate (`batos-…`) and the model in force answer each prompt;
 * ALFRED judges by `prefers` — which answer wins — in whichever order they are shown.
 */
export function scriptEvaluation(
  emulator: OllamaEmulator,
  options: {
    candidate?: string;
    incumbent?: string;
    prefers: 'candidate' | 'incumbent' | 'tie';
  },
): void {
  const candidate = options.candidate ?? 'A fine answer, tuned.\nDISSONANCE: 0.2';
  const incumbent = options.incumbent ?? 'An answer.\nDISSONANCE: 0.3';
  emulator.respond((request: EmulatedRequest) => {
    if (request.model.startsWith('batos-')) return candidate;
    if (request.model === TEST_MODELS.ALFRED && /Answer A:/.test(request.messages.at(-1)?.content ?? '')) {
      if (options.prefers === 'tie') return JSON.stringify({ better: 'tie', reason: 'alike' });
      const prompt = request.messages.at(-1)?.content ?? '';
      const a = prompt.slice(prompt.indexOf('Answer A:'), prompt.indexOf('Answer B:'));
      const preferred = options.prefers === 'candidate' ? candidate : incumbent;
      return JSON.stringify({
        better: a.includes(preferred.split('\n')[0] ?? '') ? 'A' : 'B',
        reason: 'clearer',
      });
    }
    return incumbent;
  });
}
