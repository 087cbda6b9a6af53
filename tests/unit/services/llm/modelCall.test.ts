import { describe, expect, it } from 'vitest';
import { AppError } from '../../../../src/services/errors.ts';
import { createLimiter } from '../../../../src/services/llm/limiter.ts';
import { createModelFor, type ProviderCall } from '../../../../src/services/llm/modelCall.ts';
import { createSilentLogger } from '../../../../src/services/logger.ts';
import type { Persona, PersonaRegistry } from '../../../../src/services/personas.ts';
import { flush, ManualClock } from '../../../support/clock.ts';

const A = 'http://gpu1:11434';
const B = 'http://gpu2:11434';

const unreachable = () =>
  new AppError('OLLAMA_UNREACHABLE', 'operational', 'cannot reach Ollama', { retryable: true });
const busy = () => new AppError('OLLAMA_BUSY', 'operational', 'Ollama is busy', { retryable: true });

/** ROBIN, whose servers the provider names (`serversOf`: its `hosts`, A and B). */
function personas(): PersonaRegistry {
  const robin: Persona = {
    id: 'ROBIN',
    displayName: 'ROBIN',
    role: 'heart',
    model: 'robin-model',
    temperature: 0,
    options: {},
    avatarUrl: '',
    systemPrompt: 'You are ROBIN.',
    principles: [],
  };
  return { get: () => robin, has: () => true, list: () => [robin], corePrinciples: [], codexVersion: 1 };
}

/**
 * ROBIN's model on two hosts, over a fake provider: `answer` says what each attempt on a server
 * does (its nth attempt there, from 1); every attempt is recorded by server.
 */
function robinOn(answer: (server: string, nth: number) => Promise<string>, concurrency = 1) {
  const clock = new ManualClock();
  const tried: string[] = [];
  const call: ProviderCall = (_persona, _messages, { server }) => {
    tried.push(server);
    return answer(server, tried.filter((s) => s === server).length);
  };
  const modelFor = createModelFor({
    label: 'Ollama',
    call,
    toError: (error) => error,
    timeoutMs: 60_000,
    personas,
    serversOf: () => [A, B],
    limiter: createLimiter(concurrency),
    clock,
    logger: createSilentLogger(),
  });
  return { robin: modelFor('ROBIN'), tried, clock };
}

const ask = [{ role: 'user' as const, content: 'hi' }];

describe("a persona's model on several hosts", () => {
  it('spreads calls made at once over the hosts, each host one call at a time', async () => {
    const gates = new Map<string, () => void>();
    const { robin, tried } = robinOn(
      (server) => new Promise((resolve) => gates.set(server, () => resolve(`from ${server}`))),
    );
    const answers = Promise.all([robin.invoke(ask), robin.invoke(ask)]);
    await flush();
    expect(tried).toEqual([A, B]);
    for (const open of gates.values()) open();
    await expect(answers).resolves.toEqual([`from ${A}`, `from ${B}`]);
  });

  it('leaves a host that cannot be reached for the next at once, without waiting out its retries', async () => {
    const { robin, tried, clock } = robinOn(async (server) => {
      if (server === A) throw unreachable();
      return 'answered';
    });
    // The clock never moves: no retry's wait stands between the two hosts.
    await expect(robin.invoke(ask)).resolves.toBe('answered');
    expect(tried).toEqual([A, B]);
    expect(clock.sleeping).toBe(0);
  });

  it('tries a busy host again after the policy’s wait, on the clock, and stays there', async () => {
    const { robin, tried, clock } = robinOn(async (server, nth) => {
      if (nth === 1) throw busy();
      return `from ${server}`;
    });
    const answer = robin.invoke(ask);
    await flush();
    expect(tried).toEqual([A]);
    expect(clock.sleeping).toBe(1);
    await clock.advance(500);
    await expect(answer).resolves.toBe(`from ${A}`);
    expect(tried).toEqual([A, A]);
  });

  it('keeps the retry policy for the last host left, and fails with its error when it stays down', async () => {
    const { robin, tried, clock } = robinOn(async () => {
      throw unreachable();
    });
    const answer = robin.invoke(ask);
    const failed = expect(answer).rejects.toMatchObject({ code: 'OLLAMA_UNREACHABLE' });
    await flush();
    expect(tried).toEqual([A, B]);
    for (const wait of [500, 1000, 2000]) await clock.advance(wait);
    await failed;
    expect(tried).toEqual([A, B, B, B, B]);
  });

  it('never moves a stream that broke off to another host (its words were shown)', async () => {
    const pieces: string[] = [];
    const clock = new ManualClock();
    const tried: string[] = [];
    const modelFor = createModelFor({
      label: 'Ollama',
      call: async (_persona, _messages, { server, onToken }) => {
        tried.push(server);
        onToken?.('Half a tho');
        throw unreachable();
      },
      toError: (error) => error,
      timeoutMs: 60_000,
      personas,
      serversOf: () => [A, B],
      limiter: createLimiter(1),
      clock,
      logger: createSilentLogger(),
    });
    await expect(
      modelFor('ROBIN').invoke(ask, { onToken: (piece) => pieces.push(piece) }),
    ).rejects.toMatchObject({ code: 'OLLAMA_UNREACHABLE' });
    expect(tried).toEqual([A]);
    expect(pieces).toEqual(['Half a tho']);
  });
});
