import { describe, expect, it } from 'vitest';
import { failureDetail } from '../../../../src/bot/failures.ts';
import { failureReply } from '../../../../src/bot/interactions/interactionRouter.ts';
import { AppError } from '../../../../src/services/errors.ts';
import { unreachableError } from '../../../../src/services/llm/ollamaErrors.ts';
import { createLogger } from '../../../../src/services/logger.ts';

const log = createLogger({ level: 'silent' });
const gate = (architects: string[]) => ({
  check: async (asker: { user: { id: string } }) =>
    architects.includes(asker.user.id)
      ? ({ ok: true } as const)
      : ({ ok: false, code: 'NOT_ARCHITECT', reason: 'Only architects.' } as const),
});
const asker = (id: string) => ({ guildId: 'g1', user: { id } });

describe('a failed command or button, in words', () => {
  it('tells a member that Ollama is down without its address, and an architect where it looked, privately', async () => {
    const error = unreachableError('http://10.0.0.7:11434');
    const deps = { architects: gate(['ada']), log, context: {} };

    const member = await failureReply(error, asker('bob'), deps);
    const architect = await failureReply(error, asker('ada'), deps);

    expect(member).toMatch(/^⚠️ cannot reach Ollama: start it/);
    expect(member).not.toMatch(/10\.0\.0\.7|11434/);
    expect(architect.startsWith(member)).toBe(true);
    expect(architect).toMatch(
      /Only you see this, as an architect: cannot reach Ollama at http:\/\/10\.0\.0\.7:11434/,
    );
  });

  it('adds nothing for an architect when the public words left nothing out', async () => {
    const error = new AppError('OLLAMA_MODEL_MISSING', 'user', 'model m is not pulled: `ollama pull m`');
    expect(failureDetail(error)).toBeUndefined();
    expect(await failureReply(error, asker('ada'), { architects: gate(['ada']), log, context: {} })).toBe(
      '⚠️ model m is not pulled: `ollama pull m`',
    );
  });

  it("shows a bug's own message to an architect only; the member gets the incident id", async () => {
    const error = new Error('ENOENT: no such file, open /srv/batos/data/state.sqlite');
    const deps = { architects: gate(['ada']), log, context: {} };
    const member = await failureReply(error, asker('bob'), deps);
    expect(member).toMatch(/incident `[0-9a-f]{8}`/);
    expect(member).not.toContain('/srv');
    expect(await failureReply(error, asker('ada'), deps)).toContain('/srv/batos/data/state.sqlite');
  });

  it('treats a gate that fails as no architect', async () => {
    const failing = { check: async () => Promise.reject(new Error('members unavailable')) };
    const text = await failureReply(unreachableError('http://10.0.0.7:11434'), asker('ada'), {
      architects: failing,
      log,
      context: {},
    });
    expect(text).not.toContain('10.0.0.7');
  });
});
