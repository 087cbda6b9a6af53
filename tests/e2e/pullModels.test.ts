import { execFile } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EMBED_MODEL, REPO_ROOT, TEST_MODELS, tempDir, writeTestCodex } from '../support/fixtures.ts';
import { OllamaEmulator } from '../support/ollamaEmulator.ts';
import { closedPort } from '../support/scripts.ts';

const { ALFRED, BRICK, ROBIN } = TEST_MODELS;

let ollama: OllamaEmulator;
let dir: ReturnType<typeof tempDir>;
let env: Record<string, string>;

beforeEach(async () => {
  ollama = await OllamaEmulator.start({ models: [ALFRED] });
  dir = tempDir();
  env = { OLLAMA_HOST: ollama.url, CODEX_PATH: writeTestCodex(dir.path), DATA_DIR: dir.path };
});
afterEach(async () => {
  await ollama.close();
  dir.cleanup();
});

/** `npm run models:pull`, as a separate process. */
function pull(extra: Record<string, string> = {}) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/app/cli/pullModels.ts'],
      { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? '', ...env, ...extra }, timeout: 20_000 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const pulled = () =>
  ollama.requests
    .filter((r) => r.path === '/api/pull')
    .map((r) => (r.body as { model?: string; name?: string }).model ?? (r.body as { name?: string }).name);

describe('npm run models:pull', () => {
  it('pulls every model the codex names, and the embedding model, that Ollama does not have', async () => {
    const result = await pull();

    expect(result).toMatchObject({ code: 0, stderr: '' });
    // As the settings name it (EMBED_MODEL's default), which Ollama keeps as name:latest.
    expect(pulled()).toEqual([BRICK, ROBIN, 'nomic-embed-text']);
    expect([...ollama.models].sort()).toEqual([ALFRED, BRICK, EMBED_MODEL, ROBIN].sort());
    const lines = result.stdout.trim().split('\n');
    expect(lines[0]).toBe(`${ALFRED}: already pulled`);
    expect(lines).toContain(`${BRICK}: pulled`);
    expect(lines).toContain('nomic-embed-text: pulled');
    expect(lines.some((line) => /^brick-test:latest: pulling \w+ 50%$/.test(line))).toBe(true);

    // Run again (a container's restart): nothing left to pull.
    const again = await pull();
    expect(again.code).toBe(0);
    expect(pulled()).toHaveLength(3);
  });

  it('pulls the judge’s own model, and leaves the embeddings to an OpenAI-compatible server', async () => {
    env.CODEX_PATH = writeTestCodex(dir.path, (codex) => {
      codex.curation = { judge: 'ALFRED', model: 'judge-test:latest' };
    });
    const result = await pull({ EMBED_PROVIDER: 'openai', OPENAI_BASE_URL: 'http://127.0.0.1:9/v1' });
    expect(result.code).toBe(0);
    expect(pulled()).toEqual([BRICK, ROBIN, 'judge-test:latest']);
  });

  it('says what went wrong, and exits 1: a model the library lacks, Ollama not running', async () => {
    ollama.unpullable.add(BRICK);
    const missing = await pull();
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(
      `error: Ollama could not pull ${BRICK}: pull model manifest: file does not exist\n`,
    );

    const port = await closedPort();
    const down = await pull({ OLLAMA_HOST: `127.0.0.1:${port}` });
    expect(down.code).toBe(1);
    expect(down.stderr).toContain(`error: cannot reach Ollama at http://127.0.0.1:${port}`);
  });
});
