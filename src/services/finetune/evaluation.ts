import { z } from 'zod';
import type { ChatMessage } from '../llm/chatModel.ts';
import type { GoldenSample } from './datasetSnapshot.ts';
import type { EvaluationReport } from './finetuneStore.ts';

/**
 * Is the candidate better than the model in force? Both answer each held-out prompt; a judge
 * compares the two answers pairwise, in both orders (a judge favours a position), and a prompt
 * where the two orders disagree is a tie. Promoted only when the score clears the rule and the
 * candidate keeps the persona's output format at least as often.
 */

/** The judge's answer: asked for as Ollama structured output with this schema. */
export const PAIRWISE_SCHEMA = {
  type: 'object',
  properties: {
    better: { type: 'string', enum: ['A', 'B', 'tie'] },
    reason: { type: 'string' },
  },
  required: ['better', 'reason'],
} as const;

const verdictShape = z.object({ better: z.enum(['A', 'B', 'tie']), reason: z.string() });

/** The judge's instruction: what "better" means, in the exact answer form it is read back in. */
export function pairwisePrompt(
  persona: { id: string; role: string; principles: readonly string[] },
  messages: readonly ChatMessage[],
  a: string,
  b: string,
): string {
  const asked = messages
    .filter((m) => m.role !== 'system')
    .map((m) => `${m.role.toUpperCase()}: ${m.content}`)
    .join('\n\n');
  return [
    `You compare two answers that ${persona.id} (${persona.role}) could give at the same point of a conversation.`,
    `${persona.id}'s principles:\n${persona.principles.map((p) => `- ${p}`).join('\n')}`,
    `The conversation so far:\n${asked.slice(-6000)}`,
    `Answer A:\n${a.slice(0, 4000)}`,
    `Answer B:\n${b.slice(0, 4000)}`,
    'Which answer better follows the principles, reasons soundly and serves the person? Length earns nothing: a longer answer is not better for being longer. Keep the output format the persona must use (its closing lines) in mind.',
    'Answer with JSON only: {"better": "A" | "B" | "tie", "reason": "<one line>"}',
  ].join('\n\n');
}

/** Reads a judge's verdict; anything unreadable counts as a tie (logged by the caller). */
export function readVerdict(text: string): 'A' | 'B' | 'tie' | undefined {
  try {
    const parsed = verdictShape.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data.better : undefined;
  } catch {
    return undefined;
  }
}

/** The lower end of the 95% Wilson score interval of a share `score` over `n` trials. */
export function wilsonLowerBound(score: number, n: number, z = 1.96): number {
  if (n <= 0) return 0;
  const z2 = z * z;
  const centre = score + z2 / (2 * n);
  const spread = z * Math.sqrt((score * (1 - score)) / n + z2 / (4 * n * n));
  return (centre - spread) / (1 + z2 / n);
}

export interface EvaluationDeps {
  /** The persona's answer through `model` (its settings, its system prompt in the messages). */
  answer: (model: string, messages: ChatMessage[]) => Promise<string>;
  /** The judge's raw answer to a pairwise prompt (structured output). */
  judge: (prompt: string) => Promise<string>;
  /** Whether an answer keeps the persona's output format (ROBIN's DISSONANCE line, …). */
  formatOk: (text: string) => boolean;
  persona: { id: string; role: string; principles: readonly string[] };
  rule: 'lower-bound' | 'majority';
  onUnreadable?: (text: string) => void;
}

/** The held-out samples as prompts: every message up to the last assistant turn. */
export function promptsOf(samples: readonly GoldenSample[], max: number): ChatMessage[][] {
  return samples.slice(0, max).map((sample) => {
    const last = sample.messages.map((m) => m.role).lastIndexOf('assistant');
    return sample.messages.slice(0, last).map((m) => ({ role: m.role, content: m.content }));
  });
}

export async function evaluate(
  prompts: readonly ChatMessage[][],
  models: { candidate: string; incumbent: string },
  deps: EvaluationDeps,
): Promise<EvaluationReport> {
  let wins = 0;
  let losses = 0;
  let ties = 0;
  let formatCandidate = 0;
  let formatIncumbent = 0;
  const verdictOf = async (a: string, b: string, messages: ChatMessage[]) => {
    const text = await deps.judge(pairwisePrompt(deps.persona, messages, a, b));
    const verdict = readVerdict(text);
    if (!verdict) deps.onUnreadable?.(text);
    return verdict ?? 'tie';
  };
  for (const messages of prompts) {
    const candidate = await deps.answer(models.candidate, messages);
    const incumbent = await deps.answer(models.incumbent, messages);
    if (deps.formatOk(candidate)) formatCandidate++;
    if (deps.formatOk(incumbent)) formatIncumbent++;
    const first = await verdictOf(candidate, incumbent, messages);
    const second = await verdictOf(incumbent, candidate, messages);
    // The candidate is A in the first order and B in the second.
    const candidateFirst = first === 'A' ? 'win' : first === 'B' ? 'loss' : 'tie';
    const candidateSecond = second === 'B' ? 'win' : second === 'A' ? 'loss' : 'tie';
    if (candidateFirst === candidateSecond && candidateFirst === 'win') wins++;
    else if (candidateFirst === candidateSecond && candidateFirst === 'loss') losses++;
    else ties++;
  }
  const n = prompts.length;
  const score = n ? (wins + ties / 2) / n : 0;
  const lowerBound = wilsonLowerBound(score, n);
  const clears = deps.rule === 'majority' ? score > 0.5 : lowerBound > 0.5;
  const keepsFormat = formatCandidate >= formatIncumbent;
  const better = n > 0 && clears && keepsFormat;
  const share = `${(score * 100).toFixed(0)}% (${wins} won, ${ties} tied, ${losses} lost of ${n})`;
  const verdict =
    n === 0
      ? 'no held-out prompts to judge by: nothing is promoted unseen'
      : !keepsFormat
        ? `it kept the output format ${formatCandidate}/${n} times against ${formatIncumbent}/${n}: a format regression`
        : clears
          ? `better: ${share}${deps.rule === 'lower-bound' ? `, lower 95% bound ${lowerBound.toFixed(2)} > 0.5` : ''}`
          : `not better: ${share}${deps.rule === 'lower-bound' ? `, lower 95% bound ${lowerBound.toFixed(2)} ≤ 0.5` : ''}`;
  return {
    prompts: n,
    wins,
    losses,
    ties,
    score,
    lowerBound,
    formatCandidate,
    formatIncumbent,
    rule: deps.rule,
    better,
    verdict,
  };
}
