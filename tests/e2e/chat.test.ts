import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ToolRegistry } from '../../src/services/tools/toolRegistry.ts';
import { amendedCodex, draftAnswer } from '../support/amendmentScripts.ts';
import { REPO_ROOT, TEST_MODELS, tempDir, writeTestCodex } from '../support/fixtures.ts';
import { OllamaEmulator } from '../support/ollamaEmulator.ts';
import { closedPort, registerTool, scriptRound } from '../support/scripts.ts';

const { ALFRED, BRICK, ROBIN } = TEST_MODELS;

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the terminal chat as `npm run chat` does, with stdin from a pipe. */
function chat(
  args: string[],
  input: string,
  env: Record<string, string>,
  onStdout?: (stdout: string) => void,
): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/app/cli/chat.ts', ...args], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      onStdout?.(stdout);
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 25_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

let emulator: OllamaEmulator;
let dir: ReturnType<typeof tempDir>;
let env: Record<string, string>;

beforeEach(async () => {
  emulator = await OllamaEmulator.start({ models: Object.values(TEST_MODELS) });
  dir = tempDir();
  env = {
    OLLAMA_HOST: emulator.url,
    DATA_DIR: join(dir.path, 'data'),
    FORGE_DIR: join(dir.path, 'tools'),
    CODEX_PATH: writeTestCodex(dir.path),
    LOG_LEVEL: 'info',
  };
});
afterEach(async () => {
  await emulator.close();
  dir.cleanup();
});

function scriptAnswer(answer: string, dissonance = '0.1') {
  scriptRound(emulator, {
    plan: `plan for ${answer}`,
    thesis: `thesis for ${answer}`,
    antithesis: `feelings about ${answer}`,
    dissonance,
    answer,
  });
}

describe('npm run chat, driven through a pipe', () => {
  it('runs one conversation per input, a line per message, and exits at the end of input', async () => {
    scriptAnswer('first answer', '0.12');
    scriptAnswer('second answer', '[0.05]');

    const result = await chat([], 'Help me plan a garden\n\nAnd what about roses?\n', env);

    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n').filter(Boolean);
    expect(lines).toEqual([
      'ALFRED (plan): plan for first answer',
      'BRICK: thesis for first answer',
      'ROBIN: feelings about first answer',
      '(dissonance: 0.12)',
      "── ALFRED's answer ──",
      'first answer',
      'ALFRED (plan): plan for second answer',
      'BRICK: thesis for second answer',
      'ROBIN: feelings about second answer',
      '(dissonance: 0.05)',
      "── ALFRED's answer ──",
      'second answer',
    ]);
    // The second message continued the same conversation.
    expect(emulator.chats(ALFRED)[2]?.messages[1]?.content).toContain('Help me plan a garden');
    expect(result.stderr).toMatch(/Conversation cli-\w+/);
  });

  it('streams a persona’s words as they come (STREAM_TURNS, the default)', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const thesis = 'The first words, and then the rest of the thesis.';
    emulator
      .script(ALFRED, ['plan', 'answer'])
      // BRICK's model sends one piece and holds the rest until his first words are on the screen.
      .script(BRICK, [{ content: thesis, holdAfter: { pieces: 1, until: held } }])
      .script(ROBIN, ['Fine.\nDISSONANCE: 0.1']);

    const result = await chat([], 'go\n', env, (stdout) => {
      if (stdout.includes('BRICK: The first w')) release();
    });

    expect(result.code).toBe(0);
    expect(result.stdout.split('\n')).toContain(`BRICK: ${thesis}`);
    expect(result.stdout.split('\n')).toContain('ROBIN: Fine.');
  });

  it('shows a persona’s tool call before its turn', async () => {
    await registerTool(new ToolRegistry(env.FORGE_DIR ?? ''));
    emulator
      .script(ALFRED, ['plan', 'Three words.'])
      .script(BRICK, ['TOOL_CALL: word_count {"text": "a b c"}', 'The tool says 3.'])
      .script(ROBIN, ['Fine.\nDISSONANCE: 0.1']);

    const result = await chat([], 'How many words in "a b c"?\n', env);

    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n').filter(Boolean);
    expect(lines).toContain('BRICK used word_count({"text":"a b c"}) → 3');
    expect(lines.indexOf('BRICK used word_count({"text":"a b c"}) → 3')).toBe(
      lines.indexOf('BRICK: The tool says 3.') - 1,
    );
  });

  it('says when ALFRED proposes a codex amendment (decided in Discord)', async () => {
    scriptAnswer('a hard answer', '0.95');
    emulator.script(ALFRED, [draftAnswer(amendedCodex(env.CODEX_PATH ?? ''))]);
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/app/cli/chat.ts'], {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        ...env,
        AMENDMENT_MIN_EVENTS: '1',
        MAX_TURNS: '1',
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    child.stdin.write('Is this fair?\n');
    // Input stays open while the draft is made, as in an interactive session.
    for (let waited = 0; !/proposed a codex amendment/.test(stderr) && waited < 20_000; waited += 100) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    child.stdin.end();
    expect(await exited).toBe(0);
    expect(stderr).toMatch(
      /📜 ALFRED proposed a codex amendment \(p1: ROBIN weighs costs too\)\. Only the architect can ratify it, in Discord/,
    );
  });

  it('resumes a stored conversation with --conversation, in a new process', async () => {
    scriptAnswer('Paris');
    const first = await chat([], 'Capital of France?\n', env);
    const id = /Conversation (cli-\w+)/.exec(first.stderr)?.[1];
    expect(id).toBeDefined();

    scriptAnswer('2 million');
    const second = await chat(['--conversation', id ?? ''], 'How many live there?\n', env);

    expect(second.code).toBe(0);
    expect(second.stderr).not.toMatch(/No stored conversation/);
    const plan = emulator.chats(ALFRED).at(-2)?.messages[1]?.content ?? '';
    expect(plan).toContain('Capital of France?');
    expect(plan).toContain('Paris');
  });

  it('answers /help itself, without a model call, and hints at an unknown /command', async () => {
    const result = await chat([], '/help\n/frobnicate now\n', env);

    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/\/help +this list/);
    expect(result.stderr).toMatch(/\/new +a fresh conversation/);
    expect(result.stderr).toMatch(/\/exit +leave/);
    expect(result.stderr).toContain('Unknown command /frobnicate: /help lists the commands.');
    expect(result.stdout).toBe('');
    expect(emulator.chats()).toHaveLength(0);
  });

  it('sends a //line less its first slash, starts afresh on /new, and leaves on /exit', async () => {
    scriptAnswer('about the path');
    scriptAnswer('a fresh answer');

    const result = await chat([], '//etc/hosts holds what?\n/new\nAnd now?\n/exit\nnever sent\n', env);

    expect(result.code).toBe(0);
    const plans = emulator.chats(ALFRED).filter((_, i) => i % 2 === 0);
    expect(plans).toHaveLength(2);
    expect(plans[0]?.messages[1]?.content).toContain('/etc/hosts holds what?');
    expect(plans[0]?.messages[1]?.content).not.toContain('//etc');
    // A fresh conversation: the first one is not in the second plan's prompt.
    expect(plans[1]?.messages[1]?.content).toContain('And now?');
    expect(plans[1]?.messages[1]?.content).not.toContain('/etc/hosts');
    const ids = [...result.stderr.matchAll(/Conversation (cli-\w+)/g)].map((m) => m[1]);
    expect(ids).toHaveLength(2);
    expect(ids[0]).not.toBe(ids[1]);
    expect(result.stdout).not.toContain('never sent');
  });

  it('exits non-zero with a one-line reason when Ollama is unreachable', async () => {
    const port = await closedPort();

    const result = await chat([], 'hello\n', { ...env, OLLAMA_HOST: `127.0.0.1:${port}` });

    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([
      `error: cannot reach Ollama at http://127.0.0.1:${port}: start it with \`ollama serve\` (or set OLLAMA_HOST)`,
    ]);
    expect(result.stdout).toBe('');
  });

  it('names the models to pull before the first message', async () => {
    emulator.models.delete(ROBIN);
    const result = await chat([], 'hello\n', env);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`error: model ${ROBIN} is not pulled: \`ollama pull ${ROBIN}\``);
    expect(emulator.chats()).toHaveLength(0);
  });

  it('refuses a broken codex, naming the file and line', async () => {
    writeFileSync(env.CODEX_PATH ?? '', 'version = "one"\n[core]\nprinciples = []\n');
    const result = await chat([], 'hello\n', env);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`${env.CODEX_PATH}:1 version`);
  });

  it('reports a failure mid-dialogue on one line and exits non-zero', async () => {
    emulator.script(ALFRED, ['plan']).script(BRICK, [{ status: 500, error: 'CUDA error: out of memory' }]);
    const result = await chat([], 'hello\n', { ...env, OLLAMA_RETRIES: '0' });
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('ALFRED (plan): plan');
    expect(result.stderr).toContain(
      'error: Ollama failed on model brick-test:latest: CUDA error: out of memory',
    );
  });
});
