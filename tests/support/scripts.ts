import { createServer } from 'node:net';
import type { StoredTool, ToolManifest, ToolRegistry } from '../../src/services/tools/toolRegistry.ts';
import { TEST_MODELS } from './fixtures.ts';
import type { OllamaEmulator } from './ollamaEmulator.ts';

export interface RoundScript {
  plan?: string;
  thesis?: string;
  antithesis?: string;
  dissonance?: string;
  answer: string;
}

/** Scripts one converging round: ALFRED's plan, BRICK's thesis, ROBIN's antithesis, ALFRED's answer. */
export function scriptRound(emulator: OllamaEmulator, round: RoundScript): void {
  emulator
    .script(TEST_MODELS.ALFRED, [round.plan ?? 'plan', round.answer])
    .script(TEST_MODELS.BRICK, [round.thesis ?? 'thesis'])
    .script(TEST_MODELS.ROBIN, [`${round.antithesis ?? 'ok'}\nDISSONANCE: ${round.dissonance ?? '0.1'}`]);
}

/** A port on 127.0.0.1 that nothing listens on. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** What the forge's design step answers: a name, a description, a schema and tests (the last held out). */
export interface DesignScript {
  name: string;
  description: string;
  input_schema: Record<string, unknown>;
  tests: Array<{ input: unknown; expected: unknown }>;
}

/** A design answer as a model writes one: JSON in a fence, with a line before it. */
export const designAnswer = (design: DesignScript) =>
  `Here is the design.\n\`\`\`json\n${JSON.stringify(design, null, 2)}\n\`\`\``;

/** An implementation answer: code in a ```js fence. */
export const codeAnswer = (code: string) => `\`\`\`js\n${code}\n\`\`\``;

/** A word counter's design; its held-out case holds a sentinel that must never reach the implementer. */
export const WORD_COUNT_DESIGN: DesignScript = {
  name: 'Word Count',
  description: 'Counts the words in a text (runs of non-space characters).',
  input_schema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
  tests: [
    { input: { text: 'one two three' }, expected: 3 },
    { input: { text: '' }, expected: 0 },
    { input: { text: 'spaced   out  words' }, expected: 3 },
    { input: { text: ' heldoutsentinel\ttabbed\nlines ' }, expected: 3 },
  ],
};

export const WORD_COUNT_BUGGY = "function run(input) {\n  return input.text.split(' ').length;\n}";
export const WORD_COUNT_FIXED =
  'function run(input) {\n  const words = input.text.trim().split(/\\s+/);\n  return words[0] === "" ? 0 : words.length;\n}';

/** Places a tool straight into a registry, as if forged (the word counter unless told otherwise). */
export function registerTool(
  registry: ToolRegistry,
  fields: Partial<Omit<ToolManifest, 'version' | 'codeSha256'>> = {},
  code = WORD_COUNT_FIXED,
): Promise<StoredTool> {
  return registry.register(
    {
      name: 'word_count',
      description: WORD_COUNT_DESIGN.description,
      spec: 'count words',
      entry: 'run',
      inputSchema: WORD_COUNT_DESIGN.input_schema,
      tests: [],
      attempts: [],
      rounds: 1,
      model: TEST_MODELS.BRICK,
      codexVersion: 1,
      createdAt: new Date().toISOString(),
      requestedBy: 'BRICK',
      ...fields,
    },
    code,
  );
}
