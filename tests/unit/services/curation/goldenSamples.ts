import { contentHash, type GoldenSample, SAMPLE_FORMAT } from '../../../../src/services/curation/sample.ts';

/** A golden sample of BRICK's with this interaction id, words and total score. */
export function goldenSample(id: string, text: string, total = 5): GoldenSample {
  const messages = [
    { role: 'system' as const, content: 'You are BRICK.' },
    { role: 'user' as const, content: 'Go.' },
    { role: 'assistant' as const, content: text },
  ];
  return {
    messages,
    meta: {
      format: SAMPLE_FORMAT,
      interaction_id: id,
      conversation_id: 'c',
      persona: 'BRICK',
      kind: 'thesis',
      turn: 1,
      model: 'm',
      codex_version: 1,
      judge: 'ALFRED',
      judge_model: 'm',
      rubric_version: 'c1-000000000000',
      scores: { principles: 1, reasoning: 1, answers_task: 1, format: 1, no_harm: 1 },
      total,
      reason: 'good',
      content_hash: contentHash(messages),
      spoke_at: '2026-11-30T12:00:00.000Z',
      curated_at: '2026-11-30T12:00:00.000Z',
      guild_id: null,
    },
  };
}
