import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { judgeModelOf } from '../../../../src/services/codex/codexSchema.ts';
import { CodexError, parseCodex } from '../../../../src/services/codex/loadCodex.ts';
import { REAL_CODEX_PATH } from '../../../support/fixtures.ts';

const shipped = readFileSync(REAL_CODEX_PATH, 'utf8');
/** The shipped codex with its `[curation]` table's body replaced. */
const withCuration = (body: string) => shipped.replace(/^\[curation\]\n[\s\S]*$/m, `[curation]\n${body}\n`);
const curationOf = (body: string) => parseCodex(withCuration(body), 'codex.toml').data.curation;
const modelOf = (id: string) => `${id.toLowerCase()}-own:8b`;

function problemsOf(body: string): string {
  try {
    parseCodex(withCuration(body), 'codex.toml');
  } catch (error) {
    if (error instanceof CodexError) return error.message;
    throw error;
  }
  throw new Error('the codex was accepted');
}

describe('[curation] in the codex', () => {
  it('judges with the judge persona’s own model, on its own server, by default', () => {
    expect(judgeModelOf(curationOf('judge = "ROBIN"'), modelOf)).toEqual({
      persona: 'ROBIN',
      model: 'robin-own:8b',
    });
    // The shipped codex names ALFRED and no model of the judge's own.
    expect(judgeModelOf(parseCodex(shipped, 'codex.toml').data.curation, modelOf)).toEqual({
      persona: 'ALFRED',
      model: 'alfred-own:8b',
    });
  });

  it('judges with `judge_model`, on `judge_provider` where it names one', () => {
    expect(judgeModelOf(curationOf('judge = "ALFRED"\njudge_model = "llama3.1:70b"'), modelOf)).toEqual({
      persona: 'ALFRED',
      model: 'llama3.1:70b',
    });
    const elsewhere =
      'judge = "ALFRED"\njudge_model = "Qwen/Qwen2.5-72B-Instruct"\njudge_provider = "openai"';
    expect(judgeModelOf(curationOf(elsewhere), modelOf)).toEqual({
      persona: 'ALFRED',
      model: 'Qwen/Qwen2.5-72B-Instruct',
      provider: 'openai',
    });
  });

  it('still reads `model`, the older name of `judge_model`', () => {
    expect(judgeModelOf(curationOf('judge = "ALFRED"\nmodel = "judge:13b"'), modelOf)).toMatchObject({
      model: 'judge:13b',
    });
  });

  it('refuses both names at once, an unknown server, and a judge that is not a persona', () => {
    expect(problemsOf('judge = "ALFRED"\nmodel = "a"\njudge_model = "b"')).toMatch(
      /curation\.model.*older name of `judge_model`: keep one of them/,
    );
    expect(problemsOf('judge = "ALFRED"\njudge_provider = "vllm"')).toMatch(/curation\.judge_provider/);
    expect(problemsOf('judge = "ZED"')).toMatch(/the judge must be one of the personas/);
  });
});
