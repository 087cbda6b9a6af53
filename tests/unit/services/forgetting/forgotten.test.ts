import { describe, expect, it } from 'vitest';
import { DEFAULT_CONTEXT_LIMITS } from '../../../../src/graph/context.ts';
import { alfredPlanPrompt } from '../../../../src/graph/prompts.ts';
import type { DialogueStateValue } from '../../../../src/graph/state.ts';
import {
  cutForgotten,
  cutInValue,
  FORGOTTEN_TEXT,
  forgottenOf,
  jsonNeedles,
} from '../../../../src/services/forgetting/forgotten.ts';
import type { DialogueRecord } from '../../../../src/services/memory/interactionLog.ts';
import { FORGOTTEN_RECOLLECTION } from '../../../../src/shared/recollection.ts';

const record = (id: string, task: string, answer: string, outputs: string[] = []): DialogueRecord => ({
  id,
  conversationId: `c-${id}`,
  run: 1,
  task,
  answer,
  turns: outputs.map((output, i) => ({ speaker: 'BRICK', kind: 'thesis', output, at: i })),
  models: [],
  trajectory: [],
  finalDissonance: 0.4,
  codexVersion: 1,
  startedAt: 0,
  finishedAt: Date.UTC(2026, 10, 2),
});

const recollection = (r: DialogueRecord, similarity: number) => ({
  id: r.id,
  conversationId: r.conversationId,
  task: r.task,
  answer: r.answer,
  finalDissonance: r.finalDissonance,
  at: r.finishedAt,
  similarity,
});

const secret = record('r1', 'How do we ship the Quokka7Marmalade crates?', 'By rail, on Friday.', [
  'The Quokka7Marmalade crates weigh 40 kg each, so rail it is.\nYes.',
]);
const other = record('r2', 'What is the capital of France?', 'Paris.');

describe('what a forget looks for', () => {
  it('names the records, their quotes as a plan writes them, and their longer words', () => {
    const forgotten = forgottenOf('c-r1', [secret]);
    expect(forgotten.ids).toEqual(['r1']);
    expect(forgotten.quotes).toEqual([
      'asked How do we ship the Quokka7Marmalade crates?\n  ALFRED concluded: By rail, on Friday.',
    ]);
    // Whole texts (a turn only whole: its lines may be the persona's habit); short ones ("By rail,
    // on Friday.") are anyone's.
    expect(forgotten.texts).toEqual([
      'The Quokka7Marmalade crates weigh 40 kg each, so rail it is.\nYes.',
      'How do we ship the Quokka7Marmalade crates?',
    ]);
  });

  it('cuts a recalled dialogue’s lines from a plan’s prompt, and leaves the other recollections', () => {
    const state = { task: 'Ship the other crates', turns: [], run: 1 } as unknown as DialogueStateValue;
    const prompt = alfredPlanPrompt(state, DEFAULT_CONTEXT_LIMITS, [
      recollection(secret, 0.91),
      recollection(other, 0.42),
    ]);
    expect(prompt).toContain('Quokka7Marmalade');
    const forgotten = forgottenOf('c-r1', [secret]);

    const cut = cutForgotten(prompt, forgotten);
    expect(cut).not.toContain('Quokka7Marmalade');
    expect(cut).not.toContain('By rail');
    expect(cut).toContain(
      `${FORGOTTEN_RECOLLECTION}\n- 2026-11-02 (similarity 0.42, final dissonance 0.40): asked What is the capital of France?`,
    );
    expect(cut).toContain('Ship the other crates');
    expect(cutForgotten(cut, forgotten)).toBe(cut);
  });

  it('cuts verbatim copies inside any JSON value, and returns the very same value when nothing is there', () => {
    const forgotten = forgottenOf('c-r1', [secret]);
    const value = {
      turns: [{ output: 'You asked: How do we ship the Quokka7Marmalade crates? Carefully.', at: 1 }],
      note: 'unrelated',
      n: 3,
    };
    expect(cutInValue(value, forgotten)).toEqual({
      turns: [{ output: `You asked: ${FORGOTTEN_TEXT} Carefully.`, at: 1 }],
      note: 'unrelated',
      n: 3,
    });
    const untouched = { turns: [{ output: 'nothing of it' }], flags: [true, null] };
    expect(cutInValue(untouched, forgotten)).toBe(untouched);
  });

  it('finds a forgotten dialogue in a JSON line by its id, or by its quote as JSON escapes it', () => {
    const forgotten = forgottenOf('c-r1', [secret]);
    const needles = jsonNeedles(forgotten, { texts: false });
    const holds = (line: string) => needles.some((needle) => Buffer.from(line).includes(needle));
    expect(holds(JSON.stringify({ meta: { interaction_id: 'r1' } }))).toBe(true);
    expect(holds(JSON.stringify({ meta: { recalled: ['r0', 'r1'] } }))).toBe(true);
    expect(holds(JSON.stringify({ messages: [{ content: `Related:\n- x: ${forgotten.quotes[0]}` }] }))).toBe(
      true,
    );
    expect(holds(JSON.stringify({ meta: { interaction_id: 'r11' } }))).toBe(false);
  });
});
