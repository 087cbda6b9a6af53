import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { composeRuntime } from '../../src/app/compose.ts';
import { loadConfig } from '../../src/services/config.ts';
import { createSilentLogger } from '../../src/services/logger.ts';
import {
  JUDGE_MODEL,
  judgeWith,
  judgings,
  readGolden,
  verdict,
  writeCurationCodex,
} from '../support/curation.ts';
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
    // The dialogues are the terminal's (no server): only `all` curates them.
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

/** Every file and folder under `root`, each file with the hash of its bytes: equal when nothing changed. */
function folderState(root: string): Record<string, string> {
  const state: Record<string, string> = {};
  const visit = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        state[`${relative(root, path)}/`] = 'folder';
        visit(path);
      } else {
        state[relative(root, path)] = createHash('sha256').update(readFileSync(path)).digest('hex');
      }
    }
  };
  if (existsSync(root)) visit(root);
  return state;
}

/** Two finished dialogues in the interaction log, as the bot would have recorded them. */
async function recordDialogues() {
  const runtime = await composeRuntime(loadConfig(env), createSilentLogger());
  try {
    for (const tag of ['a', 'b']) {
      scriptRound(ollama, {
        plan: `plan ${tag}`,
        thesis: `thesis ${tag}`,
        antithesis: `antithesis ${tag}`,
        answer: `answer ${tag}`,
      });
      for await (const _ of runtime.dialogue.run({ conversationId: `cli-${tag}`, message: `task ${tag}` })) {
        // drained
      }
    }
  } finally {
    await runtime.close();
  }
}

describe('npm run curate', () => {
  it('--dry-run prints every verdict and writes nothing; a plain run writes the golden sets', async () => {
    await recordDialogues();
    judgeWith(ollama, (persona) => verdict(persona === 'ROBIN' ? 1 : 5, `${persona} judged`));
    const before = folderState(env.DATA_DIR ?? '');
    expect(Object.keys(before)).toContain('memory.sqlite');

    const dry = await curate(['--dry-run']);
    expect(dry.stderr).toBe('');
    expect(dry.code).toBe(0);
    const lines = dry.stdout.trim().split('\n');
    expect(lines).toHaveLength(7);
    expect(lines[0]).toMatch(/^ALFRED +5\/5 kept +cli-a +task a — ALFRED judged$/);
    expect(lines[2]).toMatch(/^ROBIN +1\/5 rejected +cli-a +task a — ROBIN judged$/);
    expect(lines[6]).toBe(
      'dry run: judged 2 dialogues, would keep ALFRED 2 of 2, BRICK 2 of 2, ROBIN 0 of 2; nothing written',
    );
    // Nothing written means the data folder is as it was, byte for byte: no store, no log.
    expect(folderState(env.DATA_DIR ?? '')).toEqual(before);
    expect(judgings(ollama)).toHaveLength(6);

    const real = await curate([]);
    expect(real.code).toBe(0);
    expect(real.stdout.trim().split('\n').at(-1)).toBe('curated 2 dialogues: ALFRED +4, BRICK +2');
    expect(readGolden(env.DATA_DIR ?? '', 'BRICK.jsonl').map((s) => s.messages.at(-1)?.content)).toEqual([
      'thesis a',
      'thesis b',
    ]);
    const again = await curate([]);
    expect(again.stdout.trim()).toBe('nothing new to curate');
    expect(judgings(ollama)).toHaveLength(12);
    // Three processes, each starting tsx: generous on a loaded machine.
  }, 120_000);

  it('--dry-run on a data folder that does not exist yet leaves it so', async () => {
    const dry = await curate(['--dry-run']);
    expect(dry.stderr).toBe('');
    expect(dry.code).toBe(0);
    expect(dry.stdout.trim()).toBe('nothing new to curate');
    expect(existsSync(env.DATA_DIR ?? '')).toBe(false);
  });

  it('says what to pull when the judge’s model is missing, and exits 1', async () => {
    ollama.models.delete(JUDGE_MODEL);
    const result = await curate([]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`ollama pull ${JUDGE_MODEL}`);
  });

  it('refuses an unknown option with the usage, and exits 2', async () => {
    const result = await curate(['--everything']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/Usage: npm run curate -- \[--dry-run\]/);
  });
});
