import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { threadIdFrom } from '../../../commands/memory.ts';
import { CodexError, parseCodex } from '../../../src/services/codex/loadCodex.ts';
import { loadConfig } from '../../../src/services/config.ts';
import { parseDraft } from '../../../src/services/governance/amendmentDraft.ts';

const RUNS = { numRuns: 2000 };
const snowflake = fc.bigInt({ min: 10n ** 16n, max: 10n ** 19n }).map(String);

describe('ALFRED’s amendment draft, read from any answer', () => {
  it('never throws: a draft, or a reason it is not one', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), (answer) => {
        const draft = parseDraft(answer);
        expect('error' in draft ? typeof draft.error : typeof draft.codex).toBe('string');
      }),
      RUNS,
    );
  });

  it('reads back every section of a well-formed draft', () => {
    const line = fc.string({ minLength: 1, maxLength: 60 }).filter((s) => /\w/.test(s) && !/[\n`:*]/.test(s));
    fc.assert(
      fc.property(
        line,
        fc.array(line, { minLength: 1, maxLength: 4 }),
        line,
        line,
        (title, principles, why, effects) => {
          const answer = [
            `TITLE: ${title}`,
            'PRINCIPLES:',
            ...principles.map((p) => `- ${p}`),
            `RATIONALE: ${why}`,
            `CONSEQUENCES: ${effects}`,
            '```toml',
            'version = 1',
            '```',
          ].join('\n');
          const draft = parseDraft(answer);
          expect(draft).toMatchObject({
            title: title.trim(),
            principles: principles.map((p) => p.trim()).filter(Boolean),
            rationale: why.trim(),
            consequences: effects.trim(),
            codex: 'version = 1\n',
          });
        },
      ),
      RUNS,
    );
  });
});

describe('a thread named by a member', () => {
  it('is found from its id, a mention or a link, whatever the server and message', () => {
    fc.assert(
      fc.property(snowflake, snowflake, snowflake, (thread, guild, message) => {
        expect(threadIdFrom(thread)).toBe(thread);
        expect(threadIdFrom(` <#${thread}> `)).toBe(thread);
        expect(threadIdFrom(`https://discord.com/channels/${guild}/${thread}`)).toBe(thread);
        expect(threadIdFrom(`https://discord.com/channels/${guild}/${thread}/${message}`)).toBe(thread);
      }),
      RUNS,
    );
  });

  it('is nothing, never a wrong id, for anything else', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (input) => {
        const found = threadIdFrom(input);
        if (found !== undefined) {
          expect(found).toMatch(/^\d+$/);
          expect(input).toContain(found);
        }
      }),
      RUNS,
    );
  });
});

describe('a duration setting', () => {
  it('reads `<n><unit>` for any n and unit, and refuses a bare number or garbage with the setting named', () => {
    const units = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        fc.constantFrom(...(Object.keys(units) as Array<keyof typeof units>)),
        (n, unit) => {
          expect(loadConfig({ AMENDMENT_WINDOW: `${n}${unit}` }).amendmentWindowMs).toBe(n * units[unit]);
        },
      ),
      RUNS,
    );
    fc.assert(
      fc.property(
        fc.oneof(fc.integer({ min: 0 }).map(String), fc.string({ minLength: 1, maxLength: 12 })),
        (value) => {
          let accepted: number | undefined;
          try {
            accepted = loadConfig({ AMENDMENT_WINDOW: value }).amendmentWindowMs;
          } catch (error) {
            expect((error as Error).message).toMatch(/AMENDMENT_WINDOW: expected a duration/);
            return;
          }
          // Whatever was accepted is a positive, finite span.
          expect(accepted).toBeGreaterThan(0);
          expect(Number.isFinite(accepted)).toBe(true);
        },
      ),
      RUNS,
    );
  });
});

describe('a codex, parsed from any text', () => {
  it('is accepted or refused with a CodexError naming the file, never anything else', () => {
    const tomlish = fc
      .array(
        fc.oneof(
          fc.string({ maxLength: 20 }),
          fc.constantFrom('\n', '[core]', 'version = 1', '"""', '[personas.X]', '=', '"', '[[', ']]'),
        ),
        { maxLength: 20 },
      )
      .map((parts) => parts.join(''));
    fc.assert(
      fc.property(tomlish, (text) => {
        try {
          parseCodex(text, 'codex.toml');
        } catch (error) {
          expect(error).toBeInstanceOf(CodexError);
          expect((error as CodexError).message).toMatch(/^The codex codex\.toml is invalid:/);
        }
      }),
      RUNS,
    );
  });
});
