import { clip } from '../../shared/text.ts';
import type { Codex } from '../codex/loadCodex.ts';
import { promptEvidence } from './evidence.ts';
import type { HistoryEntry } from './proposalStore.ts';

/**
 * ALFRED's side of an amendment: the prompt that asks for a draft, in the exact form it is read
 * back, and the reading; and the prompts BRICK and ROBIN review a draft with.
 */

export interface Draft {
  title: string;
  principles: string[];
  rationale: string;
  consequences: string;
  codex: string;
}

/** Reads ALFRED's draft: TITLE, PRINCIPLES, RATIONALE, CONSEQUENCES, then a ```toml block. */
export function parseDraft(answer: string): Draft | { error: string } {
  const toml = /```toml[ \t]*\r?\n([\s\S]*?)```/i.exec(answer) ?? /```[ \t]*\r?\n([\s\S]*?)```/.exec(answer);
  if (!toml?.[1]?.trim()) return { error: 'there is no ```toml block with the whole amended codex' };
  const prose = answer.slice(0, toml.index);
  const section = (name: string) =>
    new RegExp(
      `^\\s*\\**${name}\\**\\s*:\\**\\s*([\\s\\S]*?)(?=^\\s*\\**(?:TITLE|PRINCIPLES|RATIONALE|CONSEQUENCES)\\**\\s*:|$(?![\\s\\S]))`,
      'mi',
    )
      .exec(prose)?.[1]
      ?.trim() ?? '';
  const title = section('TITLE').split('\n')[0]?.trim() ?? '';
  const missing = ['TITLE', 'PRINCIPLES', 'RATIONALE', 'CONSEQUENCES'].filter((name) => !section(name));
  if (missing.length) return { error: `the answer lacks ${missing.join(', ')}` };
  return {
    title: clip(title, 200),
    principles: section('PRINCIPLES')
      .split('\n')
      .map((line) => line.replace(/^\s*[-*•]\s*/, '').trim())
      .filter(Boolean)
      .slice(0, 10),
    rationale: clip(section('RATIONALE'), 3000),
    consequences: clip(section('CONSEQUENCES'), 3000),
    codex: toml[1].replace(/\s+$/, '\n'),
  };
}

/** Who weighs a draft, and what each is asked. */
export const REVIEWERS: ReadonlyArray<readonly [string, string]> = [
  [
    'BRICK',
    'Review this amendment logically: what follows from it, what could break, and is it the smallest change that answers the evidence?',
  ],
  [
    'ROBIN',
    'Review this amendment for the people it touches: how will it feel to them, and what might it cost in trust or kindness?',
  ],
];

export function reviewPrompt(ask: string, draft: Draft, diff: string): string {
  return [
    `${ask} Answer in at most five sentences; do not rewrite the amendment.`,
    `The amendment: ${draft.title}\nPrinciples changed:\n${draft.principles.map((p) => `- ${p}`).join('\n')}\nRationale: ${draft.rationale}`,
    `The change to codex.toml:\n\`\`\`diff\n${clip(diff, 6000)}\n\`\`\``,
  ].join('\n\n');
}

export function draftPrompt(
  codex: Codex,
  evidence: readonly HistoryEntry[],
  note?: string,
  feedback?: string,
): string {
  return [
    'You are drafting an amendment to the codex, the constitution of the BAT OS personas. Persistent ' +
      'computational cognitive dissonance in recent dialogues suggests that a principle may be flawed.',
    `The current codex (codex.toml, version ${codex.data.version}):\n\`\`\`toml\n${codex.source.trim()}\n\`\`\``,
    evidence.length
      ? `The evidence, ${evidence.length} dissonant dialogue${evidence.length === 1 ? '' : 's'}:\n${evidence
          .map(promptEvidence)
          .join('\n\n')}`
      : 'There are no dissonant dialogues on record; rely on the Architect’s note.',
    note ? `The Architect's note: ${note}` : '',
    'Rules: the [core] table is immutable — leave it exactly as it is. Change as little as possible: one or ' +
      'a few principles or prompts. Keep every persona table and keep the TOML valid. Leave `version` as it is ' +
      '(it is set when the Architect ratifies).',
    feedback ? `Your previous draft was refused: ${feedback}\nDraft again.` : '',
    'Answer in exactly this form:\nTITLE: <a short title>\nPRINCIPLES:\n- <each principle that changes: old → new>\n' +
      'RATIONALE: <why, from the evidence, in your own words>\nCONSEQUENCES: <how the personas will behave differently; the risks>\n' +
      '```toml\n<the whole amended codex>\n```',
  ]
    .filter(Boolean)
    .join('\n\n');
}
