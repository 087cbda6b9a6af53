import type { Clock } from '../clock.ts';
import { type CurationSettings, judgeModelOf } from '../codex/codexSchema.ts';
import { findAppError } from '../errors.ts';
import type { ModelFor } from '../llm/chatModel.ts';
import { BACKGROUND_PRIORITY } from '../llm/limiter.ts';
import type { Logger } from '../logger.ts';
import type { StoredRecord } from '../memory/interactionLog.ts';
import type { PersonaRegistry } from '../personas.ts';
import type { CurationLedger, StoredVerdict } from './curationLedger.ts';
import { checkFormat, type FormatOk } from './formatCheck.ts';
import { judgeMessages } from './judgeTranscript.ts';
import { buildRubric, verdictSchema } from './rubric.ts';
import { isRecordedWhole } from './sample.ts';
import { parseVerdict } from './verdict.ts';

/**
 * The judge at work: one persona's part of a finished dialogue scored against its rubric by the
 * codex's judge, behind people's model calls, and read strictly into a verdict.
 */

/** A dialogue whose judging fails this many runs in a row is counted as not golden, so it cannot block the rest. */
export const MAX_JUDGE_FAILURES = 3;

/**
 * Failures that say nothing about the dialogue (the judge's server down, busy, not set up or
 * refusing the key, its model missing), from Ollama or an OpenAI-compatible server: never counted.
 */
const INFRASTRUCTURE = new Set([
  'OLLAMA_UNREACHABLE',
  'OLLAMA_BUSY',
  'OLLAMA_MODEL_MISSING',
  'LLM_UNREACHABLE',
  'LLM_BUSY',
  'LLM_MODEL_MISSING',
  'LLM_AUTH',
  'LLM_NOT_CONFIGURED',
]);

export interface JudgeDeps {
  modelFor: ModelFor;
  /** The personas in force now (a ratified amendment reloads them). */
  personas: () => PersonaRegistry;
  /** The codex's `[curation]` table in force now. */
  judge: () => CurationSettings;
  /** Where it finds a control line malformed, the format point is 0 whatever the judge said. */
  formatOk?: FormatOk;
  /** Counts a dialogue's failed judgings, run after run. */
  ledger: Pick<CurationLedger, 'noteFailure'>;
  clock: Clock;
  log: Logger;
  options: { threshold: number };
  /** Aborts the model call in flight (a shutdown). */
  signal: AbortSignal;
}

/** The persona ids that spoke in a record, in order, that the codex still defines. */
export function speakersOf(record: StoredRecord, registry: PersonaRegistry): string[] {
  return [...new Set(record.turns.map((turn) => turn.speaker))].filter((id) => registry.has(id));
}

/** Who judges a persona's part now, under which rubric, and with which model. */
function judgingOf(deps: JudgeDeps, record: StoredRecord, personaId: string) {
  const registry = deps.personas();
  // `judge_model` or the codex's model, never a fine-tuned version of the judge: it must not
  // drift with what it trains.
  const { persona: judge, ...chosen } = judgeModelOf(deps.judge(), (id) => registry.get(id).model);
  const model = deps.modelFor(judge, { temperature: 0, ...chosen });
  const rubric = buildRubric(registry.get(personaId), registry.corePrinciples, registry.codexVersion);
  const base = {
    interactionId: record.id,
    seq: record.seq,
    persona: personaId,
    rubricVersion: rubric.version,
    judge,
    judgeModel: model.model,
    total: null,
    scores: null,
    kept: false,
  };
  return { registry, judge, model, rubric, base };
}

/** Scores one persona's part of a dialogue: a verdict, valid or not. Throws when the model call fails. */
export async function judgePersona(
  deps: JudgeDeps,
  record: StoredRecord,
  personaId: string,
): Promise<StoredVerdict> {
  const { registry, judge, model, rubric, base } = judgingOf(deps, record, personaId);
  const turns = record.turns.filter((turn) => turn.speaker === personaId);
  if (!isRecordedWhole(turns)) {
    return {
      ...base,
      status: 'incomplete',
      reason: 'its turns were recorded before system prompts and tool exchanges were kept',
      judgedAt: deps.clock.now(),
    };
  }
  const answer = await model.invoke(judgeMessages(registry.get(judge), rubric, record, personaId), {
    format: verdictSchema(),
    priority: BACKGROUND_PRIORITY,
    signal: deps.signal,
  });
  const reading = parseVerdict(answer);
  if (!reading.ok) {
    deps.log.warn(
      { interactionId: record.id, persona: personaId, problem: reading.problem },
      'the judge gave no valid verdict; not golden',
    );
    return { ...base, status: 'invalid', reason: reading.problem, judgedAt: deps.clock.now() };
  }
  if (reading.corrected) {
    deps.log.warn(
      { interactionId: record.id, persona: personaId, problem: reading.corrected },
      "the judge's stated total gave way to the sum of its points",
    );
  }
  const verdict = checkFormat(deps.formatOk, personaId, turns, reading.verdict);
  return {
    ...base,
    status: 'judged',
    total: verdict.total,
    scores: verdict.scores,
    reason: verdict.reason,
    kept: verdict.total >= deps.options.threshold,
    judgedAt: deps.clock.now(),
  };
}

/**
 * Judges one persona's part, or says why the run must stop: a shutdown, or the judge failing.
 * A failure that is the dialogue's (not Ollama's) is counted, and the dialogue's
 * {@link MAX_JUDGE_FAILURES}th makes an invalid verdict, so the run goes on past it. A dry run
 * counts nothing.
 */
export async function judgeOrStop(
  deps: JudgeDeps,
  record: StoredRecord,
  personaId: string,
  dryRun: boolean,
): Promise<{ verdict: StoredVerdict } | { stop: string }> {
  try {
    return { verdict: await judgePersona(deps, record, personaId) };
  } catch (error) {
    if (deps.signal.aborted) return { stop: 'shutting down' };
    const known = findAppError(error);
    const why = known?.message ?? (error as Error).message ?? String(error);
    const failures =
      dryRun || INFRASTRUCTURE.has(known?.code ?? '') ? 0 : await deps.ledger.noteFailure(record.seq);
    deps.log.warn({ err: error, interactionId: record.id, persona: personaId, failures }, 'the judge failed');
    if (failures < MAX_JUDGE_FAILURES) return { stop: `the judge failed: ${why}` };
    return {
      verdict: {
        ...judgingOf(deps, record, personaId).base,
        status: 'invalid',
        reason: `the judge failed ${failures} times: ${why}`,
        judgedAt: deps.clock.now(),
      },
    };
  }
}
