import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CRITERIA } from '../../src/services/curation/rubric.ts';
import type { GoldenSample } from '../../src/services/curation/sample.ts';
import { writeTestCodex } from './fixtures.ts';
import type { EmulatedRequest, OllamaEmulator, Reply, Responder } from './ollamaEmulator.ts';

/** The model the tests' codex names for the judge (`[curation] model`), apart from every persona's. */
export const JUDGE_MODEL = 'judge-test:latest';

/** Writes the test codex with `[curation] judge = "ALFRED"` and the judge's own model. */
export function writeCurationCodex(dir: string, judgeModel: string | null = JUDGE_MODEL): string {
  return writeTestCodex(dir, (codex) => {
    codex.curation = { judge: 'ALFRED', ...(judgeModel ? { model: judgeModel } : {}) };
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

/** The task of a judging request. */
export function judgedTask(request: EmulatedRequest): string {
  return /The Architect's task:\n<<<\n([\s\S]*?)\n>>>/.exec(request.messages[1]?.content ?? '')?.[1] ?? '';
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
