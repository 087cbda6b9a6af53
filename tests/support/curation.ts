import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JudgeTranscript } from '../../src/services/curation/judgeTranscript.ts';
import { CRITERIA } from '../../src/services/curation/rubric.ts';
import type { GoldenSample } from '../../src/services/curation/sample.ts';
import { writeTestCodex } from './fixtures.ts';
import type { EmulatedRequest, OllamaEmulator, Reply, Responder } from './ollamaEmulator.ts';

/** The model the tests' codex names for the judge (`[curation] judge_model`), apart from every persona's. */
export const JUDGE_MODEL = 'judge-test:latest';

/**
 * Writes the test codex with `[curation] judge = "ALFRED"` and the judge's own model, under
 * `judge_model` or its older name `model`.
 */
export function writeCurationCodex(
  dir: string,
  judgeModel: string | null = JUDGE_MODEL,
  key: 'judge_model' | 'model' = 'judge_model',
): string {
  return writeTestCodex(dir, (codex) => {
    codex.curation = { judge: 'ALFRED', ...(judgeModel ? { [key]: judgeModel } : {}) };
  });
}

/** A valid verdict as the judge writes it: the first `total` criteria met. */
export function verdict(total: number, reason = `worth ${total}`): string {
  const scores = Object.fromEntries(CRITERIA.map((criterion, i) => [criterion, i < total ? 1 : 0]));
  return JSON.stringify({ reason, scores, total });
}

/** Whether a request is the judge's (it asks for structured output). */
export const isJudging = (request: EmulatedRequest) => request.body.format !== undefined;

/** The persona a judging request is about, read from its rubric. */
export function judgedPersona(request: EmulatedRequest): string {
  return /The persona judged: \S+ \(([A-Z0-9_]+)\)/.exec(request.messages[0]?.content ?? '')?.[1] ?? '';
}

/** The transcript a judging request carries: its user message, one JSON document. */
export function judgedTranscript(request: EmulatedRequest): JudgeTranscript | undefined {
  try {
    return JSON.parse(request.messages[1]?.content ?? '') as JudgeTranscript;
  } catch {
    return undefined;
  }
}

/** The task of a judging request. */
export function judgedTask(request: EmulatedRequest): string {
  return judgedTranscript(request)?.task ?? '';
}

/** Answers every judging request with `answer(persona, request)`; other requests as before. */
export function judgeWith(
  emulator: OllamaEmulator,
  answer: (persona: string, request: EmulatedRequest) => Reply | Promise<Reply>,
  otherwise: Responder = (request) => `(nothing scripted for ${request.model})`,
): void {
  emulator.respond((request) =>
    isJudging(request) ? answer(judgedPersona(request), request) : otherwise(request),
  );
}

/** The judging requests the emulator received, in order. */
export const judgings = (emulator: OllamaEmulator) => emulator.chats().filter(isJudging);

/** A golden dataset's samples, read back as the trainer would (whole lines only). */
export function readGolden(dataDir: string, file: string): GoldenSample[] {
  let text = '';
  try {
    text = readFileSync(join(dataDir, 'golden', file), 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as GoldenSample);
}
