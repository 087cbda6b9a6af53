import { z } from 'zod';
import type { ChatMessage } from '../llm/chatModel.ts';
import type { EvaluationReport, ExamPartResult } from './finetuneStore.ts';
import {
  clearsRule,
  type PromoteRule,
  smallestPromotableShare,
  wilsonLowerBound,
  wilsonUpperBound,
  worseUnderRule,
} from './promotionRule.ts';

/**
 * Is the candidate better than the model in force? Both answer each prompt of the persona's
 * exam (`exam.ts`); a judge compares the two answers pairwise, in both orders (a judge favours a
 * position), and a prompt where the two orders disagree is a tie. Promoted only when its share
 * of the held-out prompts clears the rule, it is not clearly worse on the general prompts (the
 * rule's mirror image), and it keeps the persona's output format at least as often.
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

export interface EvaluationDeps {
  /** The persona's answer through `model` (its settings, its system prompt in the messages). */
  answer: (model: string, messages: ChatMessage[]) => Promise<string>;
  /** The judge's raw answer to a pairwise prompt (structured output). */
  judge: (prompt: string) => Promise<string>;
  /** Whether an answer keeps the persona's output format (ROBIN's DISSONANCE line, …). */
  formatOk: (text: string) => boolean;
  persona: { id: string; role: string; principles: readonly string[] };
  rule: PromoteRule;
  onUnreadable?: (text: string) => void;
}

/** An exam's prompts as the models are asked them (`examPrompts` in exam.ts), and its hash. */
export interface ExamPrompts {
  heldOut: readonly ChatMessage[][];
  general: readonly ChatMessage[][];
  hash: string;
}

/** One part of the exam judged: who won each prompt, and who kept the output format. */
interface Tally extends ExamPartResult {
  formatCandidate: number;
  formatIncumbent: number;
}

/** Both models answer each prompt; the judge compares the answers in both orders. */
async function sit(
  prompts: readonly ChatMessage[][],
  models: { candidate: string; incumbent: string },
  deps: EvaluationDeps,
): Promise<Tally> {
  const tally = {
    prompts: prompts.length,
    wins: 0,
    losses: 0,
    ties: 0,
    formatCandidate: 0,
    formatIncumbent: 0,
  };
  const verdictOf = async (a: string, b: string, messages: ChatMessage[]) => {
    const text = await deps.judge(pairwisePrompt(deps.persona, messages, a, b));
    const verdict = readVerdict(text);
    if (!verdict) deps.onUnreadable?.(text);
    return verdict ?? 'tie';
  };
  for (const messages of prompts) {
    const candidate = await deps.answer(models.candidate, messages);
    const incumbent = await deps.answer(models.incumbent, messages);
    if (deps.formatOk(candidate)) tally.formatCandidate++;
    if (deps.formatOk(incumbent)) tally.formatIncumbent++;
    const first = await verdictOf(candidate, incumbent, messages);
    const second = await verdictOf(incumbent, candidate, messages);
    // The candidate is A in the first order and B in the second.
    const candidateFirst = first === 'A' ? 'win' : first === 'B' ? 'loss' : 'tie';
    const candidateSecond = second === 'B' ? 'win' : second === 'A' ? 'loss' : 'tie';
    if (candidateFirst === candidateSecond && candidateFirst === 'win') tally.wins++;
    else if (candidateFirst === candidateSecond && candidateFirst === 'loss') tally.losses++;
    else tally.ties++;
  }
  const score = tally.prompts ? (tally.wins + tally.ties / 2) / tally.prompts : 0;
  return { ...tally, score };
}

const percent = (share: number) => `${Number((share * 100).toFixed(1))}%`;
const shareOf = (part: ExamPartResult) =>
  `${percent(part.score)} (${part.wins} won, ${part.ties} tied, ${part.losses} lost of ${part.prompts})`;

/** Whether the candidate is promoted, and in one line why or why not: the first reason that holds it back. */
function verdictOf(
  own: Tally,
  general: ExamPartResult,
  rule: PromoteRule,
  smallestShare: number | undefined,
): { better: boolean; verdict: string } {
  const n = own.prompts;
  const no = (verdict: string) => ({ better: false, verdict });
  const bound = (value: number, side: 'lower' | 'upper', sign: string) =>
    rule === 'lower-bound' ? `, ${side} 95% bound ${value.toFixed(2)} ${sign} 0.5` : '';
  if (n === 0) return no('no held-out prompts to judge by: nothing is promoted unseen');
  if (smallestShare === undefined)
    return no(
      `the exam is too small to promote anything: ${n} held-out prompts, and the ${rule} rule needs more even at a perfect score`,
    );
  if (own.formatCandidate < own.formatIncumbent)
    return no(
      `it kept the output format ${own.formatCandidate}/${n} times against ${own.formatIncumbent}/${n}: a format regression`,
    );
  const lowerBound = wilsonLowerBound(own.score, n);
  if (!clearsRule(own.score, n, rule))
    return no(
      `not better: ${shareOf(own)}${bound(lowerBound, 'lower', '≤')}; ${percent(smallestShare)} would have been promoted`,
    );
  if (worseUnderRule(general.score, general.prompts, rule))
    return no(
      `better on its own prompts (${shareOf(own)}) but worse on the general ones: ${shareOf(general)}${bound(wilsonUpperBound(general.score, general.prompts), 'upper', '<')}`,
    );
  return {
    better: true,
    verdict: `better: ${shareOf(own)}${bound(lowerBound, 'lower', '>')}${general.prompts ? `; general prompts ${shareOf(general)}` : ''}`,
  };
}

/** A part's result as the report keeps it (the format is counted on the held-out prompts only). */
const partOf = ({ prompts, wins, losses, ties, score }: Tally): ExamPartResult => ({
  prompts,
  wins,
  losses,
  ties,
  score,
});

/**
 * The candidate judged on the exam: the rule is applied to the held-out prompts (the persona's
 * own ground); on the general prompts it must not be clearly worse. The format is counted on the
 * held-out prompts, the persona's own turns, which ask for it. An exam too small for the rule is
 * not sat at all: no model is asked.
 */
export async function evaluate(
  exam: ExamPrompts,
  models: { candidate: string; incumbent: string },
  deps: EvaluationDeps,
): Promise<EvaluationReport> {
  const n = exam.heldOut.length;
  const smallestShare = smallestPromotableShare(n, deps.rule);
  const unsat = (prompts: number): Tally => ({
    prompts,
    wins: 0,
    losses: 0,
    ties: 0,
    score: 0,
    formatCandidate: 0,
    formatIncumbent: 0,
  });
  const sat = smallestShare !== undefined;
  const own = sat ? await sit(exam.heldOut, models, deps) : unsat(n);
  const general = partOf(sat ? await sit(exam.general, models, deps) : unsat(exam.general.length));
  const { better, verdict } = verdictOf(own, general, deps.rule, smallestShare);
  return {
    prompts: n,
    wins: own.wins,
    losses: own.losses,
    ties: own.ties,
    score: own.score,
    lowerBound: wilsonLowerBound(own.score, n),
    formatCandidate: own.formatCandidate,
    formatIncumbent: own.formatIncumbent,
    rule: deps.rule,
    better,
    verdict,
    general,
    exam: { hash: exam.hash, prompts: n, general: exam.general.length },
    ...(smallestShare !== undefined ? { smallestShare } : {}),
  };
}
