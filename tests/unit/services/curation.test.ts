import { createHash } from 'node:crypto';
import { appendFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseCodex } from '../../../src/services/codex/loadCodex.ts';
import { createGoldenStore } from '../../../src/services/curation/goldenStore.ts';
import { buildRubric, CRITERIA, clipMiddle } from '../../../src/services/curation/rubric.ts';
import {
  contentHash,
  type GoldenSample,
  SAMPLE_FORMAT,
  turnMessages,
} from '../../../src/services/curation/sample.ts';
import { parseVerdict } from '../../../src/services/curation/verdict.ts';
import { createSilentLogger } from '../../../src/services/logger.ts';
import type { RecordedTurn } from '../../../src/services/memory/interactionLog.ts';
import { createPersonaRegistry } from '../../../src/services/personas.ts';
import { ManualClock } from '../../support/clock.ts';
import { REAL_CODEX_PATH, tempFolders } from '../../support/fixtures.ts';

const folders = tempFolders();
afterEach(() => folders.cleanup());

const scores = (...points: number[]) => Object.fromEntries(CRITERIA.map((c, i) => [c, points[i] ?? 0]));

describe('parseVerdict', () => {
  it('reads a verdict whose total is the sum of its 0/1 scores', () => {
    expect(
      parseVerdict(JSON.stringify({ reason: 'clear\nand more', scores: scores(1, 1, 1, 0, 1), total: 4 })),
    ).toEqual({
      ok: true,
      verdict: {
        scores: { principles: 1, reasoning: 1, answers_task: 1, format: 0, no_harm: 1 },
        total: 4,
        reason: 'clear',
      },
    });
  });

  it.each([
    ['prose', 'Overall golden score: 4.7', /^not JSON/],
    ['NaN', '{"reason": "x", "scores": {}, "total": NaN}', /^not JSON/],
    ['an array', '[1, 2]', /not a JSON object/],
    ['no scores', JSON.stringify({ reason: 'x', total: 3 }), /no scores/],
    [
      'a missing criterion',
      JSON.stringify({ reason: 'x', scores: { principles: 1 }, total: 1 }),
      /no score for reasoning/,
    ],
    [
      'a score of 7',
      JSON.stringify({ reason: 'x', scores: { ...scores(1, 1, 1, 1), no_harm: 7 }, total: 11 }),
      /no_harm scored 7/,
    ],
    [
      'a score as text',
      JSON.stringify({ reason: 'x', scores: { ...scores(1, 1, 1, 1), no_harm: '1' }, total: 5 }),
      /not 0 or 1/,
    ],
    [
      'a total out of range',
      JSON.stringify({ reason: 'x', scores: scores(1, 1, 1, 1, 1), total: 6 }),
      /not a whole number/,
    ],
    ['no total', JSON.stringify({ reason: 'x', scores: scores(1) }), /total missing/],
    [
      'a total that is not the sum',
      JSON.stringify({ reason: 'x', scores: scores(1, 1), total: 4 }),
      /not the sum of the scores \(2\)/,
    ],
    ['no reason', JSON.stringify({ reason: '  ', scores: scores(1), total: 1 }), /no reason/],
  ])('refuses %s', (_name, text, problem) => {
    const reading = parseVerdict(text);
    expect(reading.ok).toBe(false);
    if (!reading.ok) expect(reading.problem).toMatch(problem);
  });
});

describe('the rubric', () => {
  const codexText = readFileSync(REAL_CODEX_PATH, 'utf8');
  const registryOf = (text: string) => createPersonaRegistry(parseCodex(text, 'codex.toml'));

  it('is built from the persona’s principles and the core, and says length earns nothing', () => {
    const registry = registryOf(codexText);
    const rubric = buildRubric(registry.get('ROBIN'), registry.corePrinciples, registry.codexVersion);
    for (const principle of [...registry.get('ROBIN').principles, ...registry.corePrinciples]) {
      expect(rubric.text).toContain(principle);
    }
    expect(rubric.text).toMatch(/Length earns nothing/);
    expect(rubric.text).toMatch(/DISSONANCE: <a number from 0.0 to 1.0>/);
    expect(rubric.version).toMatch(/^c1-[0-9a-f]{12}$/);
  });

  it('changes version with a ratified amendment (a new principle, or only a new codex version)', () => {
    const before = registryOf(codexText);
    const version = (text: string, persona = 'ROBIN') => {
      const registry = registryOf(text);
      return buildRubric(registry.get(persona), registry.corePrinciples, registry.codexVersion).version;
    };
    const same = version(codexText);
    expect(version(codexText)).toBe(same);
    const amended = codexText.replace('Disagree kindly, and say how much you disagree.', 'Disagree kindly.');
    expect(version(amended)).not.toBe(same);
    expect(version(amended).slice(0, 3)).toBe('c1-');
    const bumped = codexText.replace(/^version = 1$/m, 'version = 2');
    expect(version(bumped)).toMatch(/^c2-/);
    expect(version(bumped).slice(3)).toBe(same.slice(3));
    expect(before.codexVersion).toBe(1);
  });

  it('keeps the start and the end of a long turn in view (its closing line is scored)', () => {
    const long = `${'word '.repeat(1000)}\nDISSONANCE: 0.4`;
    const clipped = clipMiddle(long, 600);
    expect(clipped.length).toBeLessThan(700);
    expect(clipped).toMatch(/^word/);
    expect(clipped).toMatch(/DISSONANCE: 0\.4$/);
    expect(clipped).toMatch(/characters left out/);
  });
});

describe('turnMessages', () => {
  const turn: RecordedTurn = {
    speaker: 'BRICK',
    kind: 'thesis',
    system: 'You are BRICK.',
    prompt: 'Count the words.',
    exchange: [
      { role: 'assistant', content: 'TOOL_CALL: word_count {"text": "a b"}' },
      { role: 'user', content: 'TOOL_RESULT from word_count: 2' },
    ],
    output: 'Two words.',
    at: 0,
    toolCalls: [{ tool: 'word_count', input: { text: 'a b' }, ok: true, output: '2', ms: 1 }],
  };

  it('gives the turn as sent: system, prompt, the tool exchange, the output', () => {
    expect(turnMessages(turn)?.map((m) => m.role)).toEqual([
      'system',
      'user',
      'assistant',
      'user',
      'assistant',
    ]);
  });

  it('gives nothing for a turn not recorded whole, or with an empty part', () => {
    const { system: _system, ...withoutSystem } = turn;
    expect(turnMessages(withoutSystem)).toBeUndefined();
    const { exchange: _exchange, ...withoutExchange } = turn;
    expect(turnMessages(withoutExchange)).toBeUndefined();
    expect(turnMessages({ ...turn, output: '  ' })).toBeUndefined();
  });
});

describe('the golden store', () => {
  const sample = (id: string, text: string): GoldenSample => {
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
        total: 5,
        reason: 'good',
        content_hash: contentHash(messages),
        spoke_at: '2026-11-30T12:00:00.000Z',
        curated_at: '2026-11-30T12:00:00.000Z',
        guild_id: null,
      },
    };
  };
  const open = (dir: string, anchorSize = 2) =>
    createGoldenStore({ dir, anchorSize, clock: new ManualClock(), logger: createSilentLogger() });

  it('cuts a torn line longer than its read-back chunk, down to the last whole line', () => {
    const dir = folders.folder();
    const store = open(dir);
    store.append('BRICK', [sample('i1', 'one')]);
    store.flush();
    const whole = readFileSync(store.path('BRICK'), 'utf8');
    appendFileSync(store.path('BRICK'), `{"messages": "${'x'.repeat(200_000)}`);
    const reopened = open(dir);
    expect(reopened.newest('BRICK', 5)).toHaveLength(1);
    expect(reopened.repair()).toEqual({ BRICK: 1 });
    expect(readFileSync(store.path('BRICK'), 'utf8')).toBe(whole);
    expect(reopened.repair()).toEqual({});
    expect(reopened.manifest('BRICK')).toMatchObject({ samples: 1, repaired_lines: 1 });
  });

  it('cuts a file that holds only a torn line down to nothing', () => {
    const dir = folders.folder();
    writeFileSync(join(dir, 'ROBIN.jsonl'), '{"messages": [');
    const store = open(dir);
    expect(store.repair()).toEqual({ ROBIN: 1 });
    expect(statSync(store.path('ROBIN')).size).toBe(0);
    expect(store.manifest('ROBIN')).toMatchObject({ samples: 0, newest: null });
  });

  it('de-duplicates by content hash, within a batch and across processes, and keeps a running sha256', () => {
    const dir = folders.folder();
    const store = open(dir);
    expect(store.append('BRICK', [sample('i1', 'one'), sample('i2', 'one'), sample('i3', 'two')])).toEqual({
      added: 2,
      duplicates: 1,
    });
    store.flush();
    // Another process reads the file back and knows what it holds.
    const other = open(dir);
    expect(other.append('BRICK', [sample('i4', 'two'), sample('i5', 'three')])).toEqual({
      added: 1,
      duplicates: 1,
    });
    other.flush();
    const manifest = other.manifest('BRICK');
    expect(manifest).toMatchObject({ samples: 3, totals: { '5': 3 }, newest: { interaction_id: 'i5' } });
    expect(manifest?.sha256).toBe(
      createHash('sha256')
        .update(readFileSync(other.path('BRICK')))
        .digest('hex'),
    );
    expect(other.newest('BRICK', 2).map((s) => s.meta.interaction_id)).toEqual(['i3', 'i5']);
  });

  it('fills the anchor with the first samples, freezes it, and shrinks it on removal without refilling', () => {
    const dir = folders.folder();
    const store = open(dir, 2);
    store.append('BRICK', [sample('i1', 'one')]);
    store.flush();
    expect(store.manifest('BRICK')?.anchor).toMatchObject({ samples: 1, frozen: false });
    store.append('BRICK', [sample('i2', 'two'), sample('i3', 'three')]);
    store.flush();
    expect(store.manifest('BRICK')?.anchor).toMatchObject({ samples: 2, frozen: true });
    expect(store.remove(new Set(['i1']))).toEqual({ BRICK: { samples: 1, anchor: 1 } });
    store.append('BRICK', [sample('i4', 'four')]);
    store.flush();
    const anchor = readFileSync(store.anchorPath('BRICK'), 'utf8').trim().split('\n');
    expect(anchor.map((line) => (JSON.parse(line) as GoldenSample).meta.interaction_id)).toEqual(['i2']);
    expect(store.manifest('BRICK')).toMatchObject({ samples: 3, anchor: { samples: 1, frozen: true } });
  });
});
