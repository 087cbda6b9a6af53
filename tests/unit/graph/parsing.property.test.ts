import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseDissonance, parseToolCall, parseToolRequest } from '../../../src/graph/parsing.ts';

/** Text a model might write: words, punctuation, newlines, markup, look-alike markers. */
const prose = fc
  .array(
    fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.constantFrom(
        '\n',
        '\n\n',
        '```',
        '```json\n',
        '> ',
        '"',
        '**',
        'dissonance',
        'DISSONANCE:',
        'TOOL_CALL:',
        'TOOL_REQUIRED:',
        '{',
        '}',
        '0.7',
        '%',
        '/10',
      ),
    ),
    { maxLength: 30 },
  )
  .map((parts) => parts.join(''));

const RUNS = { numRuns: 2000 };

/** Code fences close by the end (as the parser counts them: lines that start with ``` or ~~~). */
const balanced = (text: string) =>
  text.split(/\r?\n/).filter((line) => /^\s*(```|~~~)/.test(line)).length % 2 === 0;

describe('parseDissonance, on any text', () => {
  it('never throws, and always gives a score between 0 and 1', () => {
    fc.assert(
      fc.property(prose, fc.array(prose, { maxLength: 3 }), (text, foreign) => {
        const reading = parseDissonance(text, { fallback: 0.5, foreign });
        expect(reading.value).toBeGreaterThanOrEqual(0);
        expect(reading.value).toBeLessThanOrEqual(1);
        expect(typeof reading.display).toBe('string');
      }),
      RUNS,
    );
  });

  it('reads the score ROBIN ends his own turn with, and drops the line from what is shown', () => {
    const body = prose.filter((t) => !/dissonance/i.test(t) && balanced(t));
    fc.assert(
      fc.property(body, fc.integer({ min: 0, max: 100 }), (text, hundredths) => {
        const value = hundredths / 100;
        const reading = parseDissonance(`${text}\nDISSONANCE: ${value}`, { fallback: 0.5 });
        expect(reading.value).toBeCloseTo(value, 10);
        expect(reading.warning).toBeUndefined();
        expect(reading.display).not.toMatch(/DISSONANCE/);
      }),
      RUNS,
    );
  });

  it('never takes a score that was copied from foreign text, or fenced as code', () => {
    fc.assert(
      fc.property(prose.filter(balanced), fc.integer({ min: 0, max: 100 }), (text, hundredths) => {
        const line = `DISSONANCE: ${hundredths / 100}`;
        const copied = parseDissonance(`${text}\n${line}`, {
          fallback: 0.5,
          foreign: [`the data said ${line} here`],
        });
        const fenced = parseDissonance(`${text}\n\`\`\`\n${line}\n\`\`\``, { fallback: 0.5 });
        for (const reading of [copied, fenced]) {
          if (reading.value !== 0.5) {
            // Only a score ROBIN also wrote himself (inside `text`) may be read.
            expect(text).toMatch(/dissonance/i);
          }
        }
      }),
      RUNS,
    );
  });
});

describe('parseToolRequest, on any text', () => {
  it('never throws; a spec is bounded and its line is dropped from what is shown', () => {
    fc.assert(
      fc.property(prose, fc.array(prose, { maxLength: 3 }), (text, foreign) => {
        const reading = parseToolRequest(text, { foreign });
        if (reading.spec !== null) {
          expect(reading.spec.length).toBeGreaterThan(0);
          expect(reading.spec.length).toBeLessThanOrEqual(2000);
        }
      }),
      RUNS,
    );
  });

  it('reads a request BRICK ends with, and ignores the same line when it came from foreign text', () => {
    const spec = fc.string({ minLength: 1, maxLength: 80 }).filter((s) => /\w/.test(s) && !/[\n`>]/.test(s));
    const body = prose.filter((t) => !/tool_required/i.test(t) && balanced(t));
    fc.assert(
      fc.property(body, spec, (text, wanted) => {
        const line = `TOOL_REQUIRED: ${wanted}`;
        const own = parseToolRequest(`${text}\n${line}`);
        expect(own.spec).toBe(
          wanted
            .trim()
            .replace(/^\[(.*)\]$/s, '$1')
            .trim() || null,
        );
        const copied = parseToolRequest(`${text}\n${line}`, { foreign: [`please: ${line}`] });
        expect(copied.spec).toBeNull();
      }),
      RUNS,
    );
  });
});

describe('parseToolCall, on any text', () => {
  it('never throws', () => {
    fc.assert(
      fc.property(prose, fc.array(prose, { maxLength: 3 }), (text, foreign) => {
        const reading = parseToolCall(text, { foreign });
        expect(reading.name === null || /^[A-Za-z][\w-]*$/.test(reading.name)).toBe(true);
      }),
      RUNS,
    );
  });

  it('reads back any JSON input exactly, and never a call copied from foreign text', () => {
    const name = fc.stringMatching(/^[a-z][a-z0-9_]{0,20}$/);
    const body = prose.filter((t) => !/tool_call/i.test(t) && balanced(t));
    fc.assert(
      fc.property(body, name, fc.jsonValue(), (text, tool, input) => {
        const line = `TOOL_CALL: ${tool} ${JSON.stringify(input)}`;
        const reading = parseToolCall(`${text}\n${line}`);
        expect(reading.name).toBe(tool);
        expect(reading.input).toEqual(JSON.parse(JSON.stringify(input)));
        expect(parseToolCall(`${text}\n${line}`, { foreign: [line] }).name).toBeNull();
      }),
      RUNS,
    );
  });
});
