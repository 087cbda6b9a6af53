import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { composeRuntime } from '../../src/app/compose.ts';
import { loadConfig } from '../../src/services/config.ts';
import { createSilentLogger } from '../../src/services/logger.ts';
import { JUDGE_MODEL, judgeWith, verdict, writeCurationCodex } from '../support/curation.ts';
import { EMBED_MODEL, REPO_ROOT, TEST_MODELS, tempDir } from '../support/fixtures.ts';
import { OllamaEmulator } from '../support/ollamaEmulator.ts';
import { scriptRound } from '../support/scripts.ts';

let ollama: OllamaEmulator;
let dir: ReturnType<typeof tempDir>;
let env: Record<string, string>;

beforeEach(async () => {
  ollama = await OllamaEmulator.start({ models: [...Object.values(TEST_MODELS), EMBED_MODEL, JUDGE_MODEL] });
  dir = tempDir();
  env = {
    OLLAMA_HOST: ollama.url,
    DATA_DIR: join(dir.path, 'data'),
    FORGE_DIR: join(dir.path, 'tools'),
    CODEX_PATH: writeCurationCodex(dir.path),
    LOG_LEVEL: 'info',
    // The calibration is under test, not the scope: these dialogues are recorded without a visibility.
    CURATION_SCOPE: 'all',
  };
});
afterEach(async () => {
  await ollama.close();
  dir.cleanup();
});

/** `npm run curate -- <args>`, as a child process; resolves with its exit code and output. */
function curate(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/app/cli/curate.ts', ...args], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

/** Two dialogues recorded and curated in this process: the judge keeps ALFRED and BRICK, refuses ROBIN. */
async function curatedDialogues(): Promise<{ a: string; b: string }> {
  const runtime = await composeRuntime(loadConfig(env), createSilentLogger());
  try {
    for (const tag of ['a', 'b']) {
      scriptRound(ollama, {
        plan: `plan ${tag}`,
        thesis: `thesis ${tag}`,
        antithesis: `antithesis ${tag}`,
        answer: `answer ${tag}`,
      });
      for await (const _ of runtime.dialogue.run({ conversationId: `cal-${tag}`, message: `task ${tag}` })) {
        // drained
      }
    }
    judgeWith(ollama, (persona) => verdict(persona === 'ROBIN' ? 2 : 5));
    await runtime.curation.run();
    const idOf = async (conversationId: string) =>
      (await runtime.memory.records(conversationId))[0]?.id ?? '';
    return { a: await idOf('cal-a'), b: await idOf('cal-b') };
  } finally {
    await runtime.close();
  }
}

const line = (interaction_id: string, persona: string, label: string) =>
  JSON.stringify({ interaction_id, persona, label });

describe('npm run curate -- --calibrate', () => {
  it('reports the agreement of the judge’s verdicts with a file of labels, and Cohen’s kappa', async () => {
    const { a, b } = await curatedDialogues();
    const file = join(dir.path, 'labelled.jsonl');
    writeFileSync(
      file,
      [
        line(a, 'BRICK', 'good'), // kept: agree
        line(a, 'ROBIN', 'bad'), // refused: agree
        line(a, 'ALFRED', 'bad'), // kept: disagree
        line(b, 'BRICK', 'good'), // kept: agree
        line(b, 'ROBIN', 'good'), // refused: disagree
        line('no-such-dialogue', 'ALFRED', 'good'),
        '',
      ].join('\n'),
    );
    const result = await curate(['--calibrate', file]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    // p_o 3/5; the judge says good 3 of 5, the labels 3 of 5: p_e 0.52, kappa 0.08 / 0.48.
    expect(result.stdout).toBe(
      [
        `Calibration against ${file}: 6 labels, 5 of them on parts the judge has judged.`,
        "The judge and the labels agree on 3 of 5 (60%); Cohen's kappa 0.17.",
        '',
        '                 labelled good   labelled bad',
        'judge kept                   2              1',
        'judge refused                1              1',
        '',
        'Not judged (not curated yet, unknown, or an unusable verdict): ALFRED in no-such-dialogue (line 6).',
        '',
      ].join('\n'),
    );
    // Calibrating judges nothing more.
    expect(ollama.chats().filter((r) => r.body.format !== undefined)).toHaveLength(6);
  }, 60_000);

  it('names the file, line and problem of every malformed line, and compares nothing', async () => {
    const file = join(dir.path, 'bad.jsonl');
    writeFileSync(
      file,
      [
        line('r1', 'ROBIN', 'good'),
        '{"interaction_id": "r2",',
        line('r3', 'ROBIN', 'great'),
        line('r1', 'ROBIN', 'bad'),
      ].join('\n'),
    );
    const result = await curate(['--calibrate', file]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    const problems = result.stderr.split('\n').filter((l) => l.startsWith(file));
    expect(problems[0]).toMatch(new RegExp(`^${file}:2: not JSON \\(`));
    expect(problems.slice(1)).toEqual([
      `${file}:3: "label" must be "good" or "bad"`,
      `${file}:4: ROBIN in r1 is labelled twice (first on line 1)`,
    ]);
    expect(result.stderr).toContain('Nothing compared: fix the lines above.');
    // The file is read before anything is opened.
    expect(existsSync(env.DATA_DIR ?? '')).toBe(false);

    const missing = await curate(['--calibrate', join(dir.path, 'missing.jsonl')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`${join(dir.path, 'missing.jsonl')}: cannot read it (ENOENT)`);
  }, 60_000);
});
