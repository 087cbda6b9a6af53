import { afterEach, describe, expect, it } from 'vitest';
import { checkOllama } from '../../src/services/llm/ollamaModels.ts';
import { DEFAULT_RETRY_POLICY } from '../../src/services/llm/retry.ts';
import { ManualClock, waitUntil } from '../support/clock.ts';
import { TEST_MODELS } from '../support/fixtures.ts';
import { type Harness, startHarness } from '../support/harness.ts';
import { OLLAMA_EMULATOR_VERSION, OllamaEmulator } from '../support/ollamaEmulator.ts';
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
    // An answer that would come after the test itself timed out: only the deadline can end it.
    harness.emulator.script(ALFRED, [{ delayMs: 600_000, content: 'too late' }]);
    await expect(harness.talk('x', 'hi')).rejects.toMatchObject({
      code: 'OLLAMA_TIMEOUT',
      message: expect.stringMatching(/did not answer within 0 s \(raise OLLAMA_TIMEOUT_MS/),
    });
    // A timeout is not retried: waiting again would double an already long wait.
    expect(harness.emulator.chats(ALFRED)).toHaveLength(1);
  });

  it('reports a stream that fails midway every time it is tried', async () => {
    harness = await startHarness();
    const broken = {
      content: 'a long plan that breaks off',
      failMidStream: 'llama runner process has terminated',
    };
    harness.emulator.script(ALFRED, [broken, broken, broken, broken]);
    await expect(harness.talk('x', 'hi')).rejects.toMatchObject({
      code: 'OLLAMA_ERROR',
      message: expect.stringContaining('llama runner process has terminated'),
    });
    expect(harness.emulator.chats(ALFRED)).toHaveLength(4);
  });

  it('says Ollama is busy when it stays busy through every retry', async () => {
    harness = await startHarness();
    const busy = { status: 503, error: 'server busy, please try again.  maximum pending requests exceeded' };
    harness.emulator.script(ALFRED, [busy, busy, busy, busy]);
    await expect(harness.talk('x', 'hi')).rejects.toMatchObject({ code: 'OLLAMA_BUSY' });
    expect(harness.emulator.chats(ALFRED)).toHaveLength(4);
  });

  it('never retries what a retry cannot fix (a refused request)', async () => {
    harness = await startHarness();
    harness.emulator.script(ALFRED, [{ status: 400, error: 'invalid options' }]);
    await expect(harness.talk('x', 'hi')).rejects.toMatchObject({ code: 'OLLAMA_ERROR' });
    expect(harness.emulator.chats(ALFRED)).toHaveLength(1);
  });
});

describe('a busy or restarting Ollama is tried again', () => {
  it('waits 0.5 s, then 1 s, on the injected clock, and the dialogue carries on', async () => {
    const clock = new ManualClock();
    harness = await startHarness({ overrides: { clock, retry: DEFAULT_RETRY_POLICY } });
    const busy = { status: 503, error: 'server busy, please try again.  maximum pending requests exceeded' };
    harness.emulator
      .script(ALFRED, [
        busy,
        { status: 500, error: 'llama runner process has terminated' },
        'the plan',
        'answer',
      ])
      .script(BRICK, ['thesis'])
      .script(ROBIN, ['fine\nDISSONANCE: 0.1']);
    const talking = harness.talk('x', 'hi');
    await waitUntil(() => harness?.emulator.chats(ALFRED).length === 1 && clock.sleeping === 1);
    await clock.advance(499);
    expect(harness.emulator.chats(ALFRED)).toHaveLength(1);
    await clock.advance(1);
    await waitUntil(() => harness?.emulator.chats(ALFRED).length === 2 && clock.sleeping === 1);
    await clock.advance(999);
    expect(harness.emulator.chats(ALFRED)).toHaveLength(2);
    await clock.advance(1);
    const events = await talking;
    expect(events.at(-1)).toMatchObject({ type: 'done', answer: 'answer' });
    expect(harness.emulator.chats(ALFRED)).toHaveLength(4);
  });
});

describe('checkOllama', () => {
  it('passes when Ollama answers and has every model (a bare name means :latest)', async () => {
    const emulator = await OllamaEmulator.start({ models: ['llama3.1:8b', 'mistral:latest'] });
    try {
      await expect(checkOllama(emulator.url, ['llama3.1:8b', 'mistral'])).resolves.toMatchObject({
        version: OLLAMA_EMULATOR_VERSION,
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
