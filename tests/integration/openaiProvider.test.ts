import { afterEach, describe, expect, it } from 'vitest';
import type { DoneEvent } from '../../src/graph/dialogue.ts';
import { loadConfig } from '../../src/services/config.ts';
import { findAppError } from '../../src/services/errors.ts';
import { EMBED_MODEL, TEST_MODELS, type writeTestCodex } from '../support/fixtures.ts';
import { type Harness, spoken, startHarness } from '../support/harness.ts';
import { OpenAIEmulator } from '../support/openaiEmulator.ts';

const { ALFRED, BRICK, ROBIN } = TEST_MODELS;
const KEY = 'sk-test-key';

let harness: Harness | undefined;
let openai: OpenAIEmulator | undefined;
afterEach(async () => {
  await harness?.close();
  await openai?.close();
  harness = undefined;
  openai = undefined;
});

async function startOpenAI(
  env: Record<string, string> = {},
  options: { models?: string[]; codex?: Parameters<typeof writeTestCodex>[1] } = {},
) {
  openai = await OpenAIEmulator.start({
    // The embedding model by the name EMBED_MODEL gives (no `:latest` on this server).
    models: options.models ?? [ALFRED, BRICK, ROBIN, EMBED_MODEL.replace(/:latest$/, '')],
    apiKey: KEY,
  });
  harness = await startHarness({
    env: { LLM_PROVIDER: 'openai', OPENAI_BASE_URL: openai.url, OPENAI_API_KEY: KEY, ...env },
    ...(options.codex ? { codex: options.codex } : {}),
  });
  return { openai, harness };
}

const bodyOf = (request: { body: unknown }) => request.body as Record<string, unknown>;

describe('personas served by an OpenAI-compatible server (LLM_PROVIDER=openai)', () => {
  it('runs a whole dialogue through @langchain/openai, and embeds it there too', async () => {
    const { openai, harness } = await startOpenAI();
    openai
      .script(ALFRED, ['Plan: weigh cost and joy.', 'Final: buy the bicycle.'])
      .script(BRICK, ['Thesis: a bicycle is efficient.'])
      .script(ROBIN, ['Antithesis: and it is fun!\nDISSONANCE: 0.1']);

    const events = await harness.talk('o1', 'Should I buy a bicycle?');

    expect(spoken(events)).toEqual([
      'ALFRED: Plan: weigh cost and joy.',
      'BRICK: Thesis: a bicycle is efficient.',
      'ROBIN: Antithesis: and it is fun!',
      'ALFRED: Final: buy the bicycle.',
    ]);
    expect((events.find((e) => e.type === 'done') as DoneEvent).dissonance).toBe(0.1);
    const brick = openai.chats(BRICK)[0];
    expect(brick?.messages[0]).toMatchObject({
      role: 'system',
      content: expect.stringContaining('You are BRICK'),
    });
    expect(brick?.body).toMatchObject({ model: BRICK, temperature: 0.4 });
    // Every request carried the key; Ollama was never asked.
    expect(openai.requests.every((r) => r.authorization === `Bearer ${KEY}`)).toBe(true);
    expect(harness.emulator.chats()).toEqual([]);

    // The finished dialogue is embedded by the same server, in plain floats.
    await expect.poll(async () => (await harness.runtime.memory.stats()).vectors, { timeout: 5000 }).toBe(1);
    const embedding = openai.requests.find((r) => r.path === '/v1/embeddings');
    expect(embedding && bodyOf(embedding)).toMatchObject({
      model: 'nomic-embed-text',
      encoding_format: 'float',
    });
    expect(harness.emulator.requests.filter((r) => r.path === '/api/embed')).toEqual([]);
  });

  it('streams an answer piece by piece over SSE, and the whole text is the model’s', async () => {
    const { openai, harness } = await startOpenAI();
    const text = 'A long answer that arrives in several pieces, as a real server streams it.';
    openai.script(BRICK, [text]);
    const pieces: string[] = [];

    const result = await harness.runtime.providers
      .modelFor('BRICK')
      .invoke([{ role: 'user', content: 'go' }], { onToken: (piece) => pieces.push(piece) });

    expect(result).toBe(text);
    expect(pieces.length).toBeGreaterThan(2);
    expect(pieces.join('')).toBe(text);
    expect(bodyOf(openai.requests.at(-1) ?? { body: {} })).toMatchObject({ stream: true });
  });

  it('asks for structured output with response_format', async () => {
    const { openai, harness } = await startOpenAI();
    openai.script(ALFRED, ['{"score": 4}', '{"ok": true}']);
    const schema = { type: 'object', properties: { score: { type: 'integer' } }, required: ['score'] };

    await harness.runtime.providers.modelFor('ALFRED').invoke([{ role: 'user', content: 'judge' }], {
      format: schema,
    });
    await harness.runtime.providers
      .modelFor('ALFRED')
      .invoke([{ role: 'user', content: 'json' }], { format: 'json' });

    const [first, second] = openai.chats(ALFRED);
    expect(first?.body.response_format).toEqual({
      type: 'json_schema',
      json_schema: { name: 'answer', schema },
    });
    expect(second?.body.response_format).toEqual({ type: 'json_object' });
  });

  it('a refused key says to set one it accepts, without the key, and is not retried', async () => {
    const { openai, harness } = await startOpenAI({ OPENAI_API_KEY: 'sk-wrong' });
    const refused = await harness.runtime.providers
      .modelFor('BRICK')
      .invoke([{ role: 'user', content: 'hi' }])
      .catch((e: unknown) => e);
    expect(findAppError(refused)).toMatchObject({ code: 'LLM_AUTH', kind: 'user' });
    expect(findAppError(refused)?.message).toBe(
      `the server at ${openai.url} refused OPENAI_API_KEY (401): set a key it accepts`,
    );
    expect(openai.chats(BRICK)).toHaveLength(1);
  });

  it('the start-up check names a missing model; a 503 is tried again', async () => {
    const { openai, harness } = await startOpenAI();
    openai.models.delete(ROBIN);
    await expect(harness.runtime.checkModels()).rejects.toThrow(
      `the server at ${openai.url} has no model ${ROBIN}: check the personas' models in codex.toml against its /v1/models`,
    );
    openai.models.add(ROBIN);
    await expect(harness.runtime.checkModels()).resolves.toBeUndefined();

    openai.script(BRICK, [{ status: 503, error: 'overloaded' }, 'back again']);
    await expect(
      harness.runtime.providers.modelFor('BRICK').invoke([{ role: 'user', content: 'hi' }]),
    ).resolves.toBe('back again');
    expect(openai.chats(BRICK)).toHaveLength(2);
  });

  it('an unreachable server says to start it or set OPENAI_BASE_URL', async () => {
    const started = await startOpenAI({ OLLAMA_RETRIES: '0' });
    const url = started.openai.url;
    await started.openai.close();
    openai = undefined;
    const gone = await started.harness.runtime.providers
      .modelFor('BRICK')
      .invoke([{ role: 'user', content: 'hi' }])
      .catch((e: unknown) => e);
    expect(findAppError(gone)).toMatchObject({ code: 'LLM_UNREACHABLE' });
    expect(findAppError(gone)?.message).toBe(
      `cannot reach the OpenAI-compatible server at ${url}: start it, or set OPENAI_BASE_URL`,
    );
  });

  it('a deadline ends a slow answer with the timeout message', async () => {
    const { openai, harness } = await startOpenAI({ OLLAMA_TIMEOUT_MS: '200', OLLAMA_RETRIES: '0' });
    openai.script(BRICK, [{ content: 'late', delayMs: 5000 }]);
    const late = await harness.runtime.providers
      .modelFor('BRICK')
      .invoke([{ role: 'user', content: 'hi' }])
      .catch((e: unknown) => e);
    expect(findAppError(late)).toMatchObject({ code: 'LLM_TIMEOUT' });
    expect(findAppError(late)?.message).toContain(`model ${BRICK} did not answer within 0 s`);
  });
});

describe('one persona on another server (provider in the codex)', () => {
  it('ROBIN speaks through the OpenAI-compatible server while the others stay on Ollama', async () => {
    openai = await OpenAIEmulator.start({ models: [ROBIN] });
    harness = await startHarness({
      env: { OPENAI_BASE_URL: openai.url },
      codex: (codex) => {
        (codex.personas as Record<string, Record<string, unknown>>).ROBIN!.provider = 'openai';
      },
    });
    harness.emulator.script(ALFRED, ['plan', 'answer']).script(BRICK, ['thesis']);
    openai.script(ROBIN, ['antithesis\nDISSONANCE: 0.2']);

    const events = await harness.talk('p1', 'Which way?');

    expect(spoken(events)).toEqual(['ALFRED: plan', 'BRICK: thesis', 'ROBIN: antithesis', 'ALFRED: answer']);
    expect(openai.chats(ROBIN)).toHaveLength(1);
    expect(harness.emulator.chats(ROBIN)).toHaveLength(0);
    expect(harness.runtime.providers.of('ROBIN')).toBe('openai');
    expect(harness.runtime.providers.of('BRICK')).toBe('ollama');
    // Both servers answer the health check, each with its own models.
    const health = await harness.runtime.providers.health();
    expect(health.map((h) => [h.provider, h.ok])).toEqual([
      ['ollama', true],
      ['openai', true],
    ]);

    // The persona on the other server may be fine-tuned too (its adapter loaded at run time,
    // tests/e2e/finetuneServers.test.ts): here it has no golden samples yet, which is all it lacks.
    const refused = await harness.runtime.fineTuner.start('ROBIN', {
      trigger: 'command',
      requestedBy: 'arch',
    });
    expect(refused).toMatchObject({ ok: false, code: 'NO_SAMPLES' });
  });

  it('a persona on openai without OPENAI_BASE_URL says what to set, in its turn', async () => {
    harness = await startHarness({
      codex: (codex) => {
        (codex.personas as Record<string, Record<string, unknown>>).BRICK!.provider = 'openai';
      },
    });
    const refused = await harness.runtime.providers
      .modelFor('BRICK')
      .invoke([{ role: 'user', content: 'hi' }])
      .catch((e: unknown) => e);
    expect(findAppError(refused)).toMatchObject({ code: 'LLM_NOT_CONFIGURED', kind: 'user' });
    expect(findAppError(refused)?.message).toContain('OPENAI_BASE_URL is not set');
  });
});

describe('the settings', () => {
  it('LLM_PROVIDER=openai or EMBED_PROVIDER=openai needs OPENAI_BASE_URL', () => {
    expect(() => loadConfig({ LLM_PROVIDER: 'openai' })).toThrow(
      /OPENAI_BASE_URL: LLM_PROVIDER=openai needs/,
    );
    expect(() => loadConfig({ EMBED_PROVIDER: 'openai' })).toThrow(
      /OPENAI_BASE_URL: EMBED_PROVIDER=openai needs/,
    );
    expect(() => loadConfig({ LLM_PROVIDER: 'vllm' })).toThrow(/LLM_PROVIDER/);
    const config = loadConfig({ LLM_PROVIDER: 'openai', OPENAI_BASE_URL: 'http://127.0.0.1:8000/v1/' });
    expect(config).toMatchObject({
      llmProvider: 'openai',
      embedProvider: 'openai',
      openaiBaseUrl: 'http://127.0.0.1:8000/v1',
    });
    expect(
      loadConfig({ LLM_PROVIDER: 'openai', EMBED_PROVIDER: 'ollama', OPENAI_BASE_URL: 'http://h/v1' })
        .embedProvider,
    ).toBe('ollama');
  });
});
