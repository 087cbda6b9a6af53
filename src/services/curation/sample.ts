import { sha256 } from '../../shared/hash.ts';
import type { DialogueRecord, DialogueVisibility, RecordedTurn } from '../memory/interactionLog.ts';
import type { Criterion } from './rubric.ts';
import type { Verdict } from './verdict.ts';

/**
 * The value of `meta.format` in every sample this version writes. `@2` added the provenance
 * (`members`, `channel_id`, `visibility`, `recalled`); a `@1` sample has none of them.
 */
export const SAMPLE_FORMAT = 'bat-os/golden-sample@2';

/** One chat message of a sample, in the trainer's roles. */
export interface SampleMessage {
  role: 'system' | 'user' | 'assistant';
  /** Never empty. */
  content: string;
}

/**
 * One golden sample: one line of `DATA_DIR/golden/<PERSONA>.jsonl` (JSON, UTF-8, ending in `\n`).
 * This is a contract: `forge/finetune/train.py` and any replacement trainer read it.
 *
 * `messages` is one persona turn exactly as the persona saw and said it, taken from the
 * interaction log (never rebuilt):
 * 1. `system`: its system prompt as sent (codex prompt, its principles, the core principles);
 * 2. `user`: the prompt it answered (the task, the plan or the dialogue so far, tools offered);
 * 3. when it called tools, for each call: `assistant` (its words ending in `TOOL_CALL: …`) then
 *    `user` (the tool's result as it was shown);
 * 4. `assistant`: its final words for the turn, whole, control lines included (`DISSONANCE: 0.2`,
 *    `TOOL_REQUIRED: …`), since they are part of what the persona must learn to write.
 *
 * So: one system message first, then user and assistant alternating, ending on assistant; every
 * content is a non-empty string. The trainer computes the loss on the assistant turns only.
 */
export interface GoldenSample {
  messages: SampleMessage[];
  meta: SampleMeta;
}

/** Provenance of a sample (the trainer ignores it): enough to audit it and to remove it. */
export interface SampleMeta {
  /** {@link SAMPLE_FORMAT}. */
  format: string;
  /** The dialogue's record in the interaction log: `/memory forget` removes by it. */
  interaction_id: string;
  /** The conversation (Discord thread id, or a terminal chat id). */
  conversation_id: string;
  persona: string;
  /** The turn's kind (`plan`, `thesis`, `antithesis`, `answer`) and its 0-based place among the record's turns. */
  kind: string;
  turn: number;
  /** The Ollama model that spoke. */
  model: string;
  /** The codex version the dialogue ran under. */
  codex_version: number;
  /** The judging persona and the model it judged with. */
  judge: string;
  judge_model: string;
  /** The rubric the verdict was scored under (changes with the codex; see `buildRubric`). */
  rubric_version: string;
  /** A point (0 or 1) per criterion. */
  scores: Record<Criterion, 0 | 1>;
  /** Their sum, 0–5: at least the threshold in force when it was kept. */
  total: number;
  /** The judge's one-line reason. */
  reason: string;
  /** sha256 (hex) of `JSON.stringify(messages)`: samples are de-duplicated by it. */
  content_hash: string;
  /** When the persona spoke and when the sample was kept, ISO 8601 (UTC). */
  spoke_at: string;
  curated_at: string;
  /** The Discord server (guild) id, or null outside any server. */
  guild_id: string | null;
  /**
   * The channel the dialogue was held in (its thread's parent), or null outside any server; and
   * who could see it then (null: unknown, which counts as not public). Absent before `@2`.
   */
  channel_id?: string | null;
  visibility?: DialogueVisibility | null;
  /**
   * The members whose messages the sample holds (Discord user ids): the askers of the
   * conversation's runs up to this one, and for a plan, the askers of the dialogues it recalled.
   * `/curate forget member:` removes by it; a fine-tune counts its shares by it. Absent before `@2`.
   */
  members?: string[];
  /** The interaction ids of the past dialogues recalled into the conversation: forgetting one removes the sample. Absent before `@2`. */
  recalled?: string[];
  /** Members who reacted 👍 to the persona's posts of the dialogue (user ids); absent when none did. */
  reactions?: { up: string[] };
}

/** Whose words a dialogue's samples hold, and which past dialogues reached them. */
export interface SampleProvenance {
  /** The askers of the conversation's runs up to this one. */
  members: readonly string[];
  /** The records recalled into the conversation's plans so far. */
  recalled: readonly string[];
  /** The asker of each recalled record, by its id: a plan that quoted it holds their words. */
  recalledAskers: Readonly<Record<string, string>>;
}

/** The hash samples are de-duplicated by: of the training content alone, not of its provenance. */
export function contentHash(messages: readonly SampleMessage[]): string {
  return sha256(JSON.stringify(messages.map(({ role, content }) => ({ role, content }))));
}

/**
 * A turn's messages as the persona saw and said them, or undefined when the log does not hold
 * them whole: records made before system prompts and tool exchanges were kept, or an empty part
 * (the trainer refuses empty content).
 */
export function turnMessages(turn: RecordedTurn): SampleMessage[] | undefined {
  if (turn.system === undefined || turn.prompt === undefined) return undefined;
  const exchange = turn.exchange ?? [];
  if ((turn.toolCalls?.length ?? 0) > 0 && exchange.length === 0) return undefined;
  const messages: SampleMessage[] = [
    { role: 'system', content: turn.system },
    { role: 'user', content: turn.prompt },
    ...exchange.map((m) => ({ role: m.role, content: m.content })),
    { role: 'assistant', content: turn.output },
  ];
  const alternates = messages
    .slice(1)
    .every((m, i) => m.role === (i % 2 === 0 ? 'user' : 'assistant') && m.content.trim() !== '');
  return alternates && turn.system.trim() ? messages : undefined;
}

/** Whether a persona's turns of a record are kept whole in the log (and can become samples). */
export function isRecordedWhole(turns: readonly RecordedTurn[]): boolean {
  return turns.length > 0 && turns.every((turn) => turnMessages(turn) !== undefined);
}

/** Who judged, under which rubric, and when: the same for every sample of one verdict. */
export interface Judgement {
  verdict: Verdict;
  judge: string;
  judgeModel: string;
  rubricVersion: string;
  /** Milliseconds since the epoch. */
  curatedAt: number;
}

/** The provenance a record gives on its own: its asker, and what its turns recalled. */
function ownProvenance(record: Pick<DialogueRecord, 'turns' | 'userId'>): SampleProvenance {
  return {
    members: record.userId ? [record.userId] : [],
    recalled: [...new Set(record.turns.flatMap((turn) => turn.recalled ?? []))],
    recalledAskers: {},
  };
}

/** The members whose messages a turn's sample holds: the askers, and those of what it recalled. */
function membersOf(turn: RecordedTurn, provenance: SampleProvenance): string[] {
  const quoted = (turn.recalled ?? []).flatMap((id) => provenance.recalledAskers[id] ?? []);
  return [...new Set([...provenance.members, ...quoted])];
}

/** One sample per turn the persona spoke in the record (turns not kept whole are left out). */
export function samplesOf(
  record: Pick<
    DialogueRecord,
    'id' | 'conversationId' | 'turns' | 'codexVersion' | 'guildId' | 'channelId' | 'visibility' | 'userId'
  >,
  persona: string,
  judgement: Judgement,
  provenance: SampleProvenance = ownProvenance(record),
): GoldenSample[] {
  return record.turns.flatMap((turn, index) => {
    if (turn.speaker !== persona) return [];
    const messages = turnMessages(turn);
    if (!messages) return [];
    return [
      {
        messages,
        meta: {
          format: SAMPLE_FORMAT,
          interaction_id: record.id,
          conversation_id: record.conversationId,
          persona,
          kind: turn.kind,
          turn: index,
          model: turn.model ?? '',
          codex_version: record.codexVersion,
          judge: judgement.judge,
          judge_model: judgement.judgeModel,
          rubric_version: judgement.rubricVersion,
          scores: judgement.verdict.scores,
          total: judgement.verdict.total,
          reason: judgement.verdict.reason,
          content_hash: contentHash(messages),
          spoke_at: new Date(turn.at).toISOString(),
          curated_at: new Date(judgement.curatedAt).toISOString(),
          guild_id: record.guildId ?? null,
          channel_id: record.channelId ?? null,
          visibility: record.visibility ?? null,
          members: membersOf(turn, provenance),
          recalled: [...provenance.recalled],
        },
      },
    ];
  });
}
