import { afterEach, describe, expect, it } from 'vitest';
import { checkOllama } from '../../src/services/llm/ollamaModels.ts';
import { TEST_MODELS } from '../support/fixtures.ts';
import { type Harness, startHarness } from '../support/harness.ts';
import { OllamaEmulator } from '../support/ollamaEmulator.ts';
import { closedPort } from '../support/scripts.ts';

const { ALFRED, BRICK, ROBIN } = TEST_MODELS;
let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe('Ollama failures end the run with a message that says what to do', () => {
  it('says how to start Ollama when nothing listens', async () => {
    const port = await closedPort();
    harness = await startHarness({ env: { OLLAMA_HOST: `http://127.0.0.1:${port}` } });
    await expect(harness.talk('x', 'hi')).rejects.toMatchObject({
      code: 'OLLAMA_UNREACHABLE',
      message: `cannot reach Ollama at http://127.0.0.1:${port}: start it with \`ollama serve\` (or set OLLAMA_HOST)`,
    });
  });

  it('names the model to pull when a persona model is missing', async () => {
    harness = await startHarness({ models: [ALFRED, ROBIN] });
    harness.emulator.script(ALFRED, ['plan']);
    await expect(harness.talk('x', 'hi')).rejects.toMatchObject({
      code: 'OLLAMA_MODEL_MISSING',
      message: `model ${BRICK} is not pulled: \`ollama pull ${BRICK}\``,
    });
  });

  it('times out a model that does not answer within OLLAMA_TIMEOUT_MS', async () => {
    harness = await startHarness({ env: { OLLAMA_TIMEOUT_MS: '300' } });
    harness.emulator.script(ALFRED, [{ delayMs: 5_000, content: 'too late' }]);
    const started = Date.now();
    await expect(harness.talk('x', 'hi')).rejects.toMatchObject({ code: 'OLLAMA_TIMEOUT' });
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('reports a stream that fails midway', async () => {
    harness = await startHarness();
    harness.emulator.script(ALFRED, [
      { content: 'a long plan that breaks off', failMidStream: 'llama runner process has terminated' },
    ]);
    await expect(harness.talk('x', 'hi')).rejects.toMatchObject({
      code: 'OLLAMA_ERROR',
      message: expect.stringContaining('llama runner process has terminated'),
    });
  });

  it('says Ollama is busy on a 503', async () => {
    harness = await startHarness();
    harness.emulator.script(ALFRED, [
      { status: 503, error: 'server busy, please try again.  maximum pending requests exceeded' },
    ]);
    await expect(harness.talk('x', 'hi')).rejects.toMatchObject({ code: 'OLLAMA_BUSY' });
  });
});

describe('checkOllama', () => {
  it('passes when Ollama answers and has every model (a bare name means :latest)', async () => {
    const emulator = await OllamaEmulator.start({ models: ['llama3.1:8b', 'mistral:latest'] });
    try {
      await expect(checkOllama(emulator.url, ['llama3.1:8b', 'mistral'])).resolves.toMatchObject({
        version: '0.12.6',
      });
    } finally {
      await emulator.close();
    }
  });

  it('lists every missing model with its pull command', async () => {
    const emulator = await OllamaEmulator.start({ models: ['llama3.1:8b'] });
    try {
      await expect(checkOllama(emulator.url, ['llama3.1:8b', 'qwen2.5:7b', 'mistral'])).rejects.toThrow(
        'models are not pulled: `ollama pull qwen2.5:7b`, `ollama pull mistral`',
      );
    } finally {
      await emulator.close();
    }
  });

  it('says Ollama is unreachable when nothing listens', async () => {
    const port = await closedPort();
    await expect(checkOllama(`http://127.0.0.1:${port}`, ['x'])).rejects.toMatchObject({
      code: 'OLLAMA_UNREACHABLE',
    });
  });
});
