import { truncate } from '../../shared/text.ts';

/** The prompts of the tool forge: design (name, schema, tests) apart from implementation. */

/** A value as the forge quotes it back in feedback and messages: its JSON, cut short. */
export function showJson(value: unknown, max = 300): string {
  return truncate(JSON.stringify(value) ?? String(value), max);
}

export const DESIGN_SYSTEM = `You design small, pure JavaScript tools for a team of AI personas.
A tool is one function run(input): it takes one JSON object and returns a JSON value.
It has no I/O, no clock, no randomness, no network, no files: the same input always gives the same output.

Answer with one JSON object and nothing else:
{
  "name": "snake_case_name",
  "description": "One or two sentences: what it does, what the input holds, what it returns.",
  "input_schema": { a JSON Schema for the input, "type": "object", with "properties" and "required" },
  "tests": [ { "input": { ... }, "expected": <the exact JSON output> }, ... ]
}
Give at least 4 tests, covering ordinary cases and edge cases. Work each expected value out carefully.`;

/** The design's shape as a JSON Schema: Ollama constrains the answer to it (structured outputs). */
export const DESIGN_FORMAT = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    description: { type: 'string' },
    input_schema: { type: 'object' },
    tests: {
      type: 'array',
      minItems: 4,
      items: {
        type: 'object',
        properties: { input: { type: 'object' }, expected: {} },
        required: ['input', 'expected'],
      },
    },
  },
  required: ['name', 'description', 'input_schema', 'tests'],
} as const satisfies Record<string, unknown>;

export function designPrompt(spec: string, task: string, feedback?: string): string {
  return [
    `Specification of the tool that is needed:\n${spec}`,
    task && task !== spec ? `It was asked for while working on this task:\n${task}` : '',
    feedback
      ? `Your previous design was refused: ${feedback}\nAnswer again with a corrected JSON object.`
      : '',
  ]
    .filter(Boolean)
    .join('\n\n');
}

export const IMPLEMENT_SYSTEM = `You implement tools in plain JavaScript (ES2023) for a sandbox.
Rules:
- Define exactly one entry function: function run(input) { ... } (it may be async).
- Helper functions and constants may be declared at the top level; no other top-level code.
- No import, require, eval, Function, globalThis, process, fetch, timers, or .constructor.
- Pure and deterministic: the result depends only on the input.
- Return a JSON-serialisable value (objects, arrays, strings, numbers, booleans, null).
Answer with one \`\`\`js code block and nothing else.`;

export interface ImplementationFeedback {
  code: string;
  error: string;
}

export function implementPrompt(
  design: { name: string; description: string; inputSchema: unknown; spec: string },
  examples: ReadonlyArray<{ input: unknown; expected: unknown }>,
  feedback?: ImplementationFeedback,
): string {
  const parts = [
    `Tool: ${design.name}\nDescription: ${design.description}\nSpecification: ${design.spec}`,
    `Input JSON Schema:\n${JSON.stringify(design.inputSchema)}`,
    `Examples (run(input) must return exactly the expected value):\n${examples
      .map((example) => `- run(${JSON.stringify(example.input)}) → ${JSON.stringify(example.expected)}`)
      .join('\n')}`,
  ];
  if (feedback) {
    parts.push(
      `Your previous code:\n\`\`\`js\n${feedback.code}\n\`\`\`\nIt failed: ${feedback.error}\nFix it and answer with the whole corrected code.`,
    );
  }
  return parts.join('\n\n');
}

/** The first fenced code block (js or plain), or the whole answer when it defines run. */
export function extractCode(answer: string): string | null {
  const fenced = /```(?:js|javascript|mjs|ts|typescript)?[ \t]*\r?\n([\s\S]*?)```/i.exec(answer);
  if (fenced?.[1]?.trim()) return fenced[1].trim();
  return /function\s+run\s*\(/.test(answer) ? answer.trim() : null;
}

/** The JSON object in an answer: a ```json block, or from the first `{` to the last `}`. */
export function extractJson(answer: string): unknown {
  const fenced = /```(?:json)?[ \t]*\r?\n([\s\S]*?)```/i.exec(answer);
  const candidates = [fenced?.[1], answer.slice(answer.indexOf('{'), answer.lastIndexOf('}') + 1)];
  let lastError: unknown;
  for (const candidate of candidates) {
    if (!candidate?.trim()) continue;
    try {
      return JSON.parse(candidate);
    } catch (error) {
      lastError = error;
    }
  }
  throw new Error(`the answer holds no JSON object${lastError ? ` (${(lastError as Error).message})` : ''}`);
}
