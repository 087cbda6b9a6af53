import type { Ajv } from 'ajv';
import { z } from 'zod';
import { truncate } from '../../shared/text.ts';
import type { ModelFor } from '../llm/chatModel.ts';
import type { Logger } from '../logger.ts';
import { DESIGN_FORMAT, DESIGN_SYSTEM, designPrompt, extractJson, showJson } from './toolForgePrompts.ts';
import type { ToolForgeRequest } from './toolPorts.ts';
import { type ForgeAttempt, toToolName } from './toolRegistry.ts';
import { regexKeywordIn } from './toolSchema.ts';

/** A tool as designed before any code: its name, description, input schema and tests (the last held out). */
export interface ToolDesign {
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
  tests: Array<{ input: unknown; expected: unknown }>;
}

export interface DesignDeps {
  modelFor: ModelFor;
  /** The persona whose model designs. */
  generator: string;
  /** Most design attempts. */
  maxDesigns: number;
  /** Compiles the designed schema, to check the tests' inputs against it. */
  ajv: Ajv;
  logger: Logger;
}

/** Longest tool description kept (prompts and Discord cards show it whole). */
const MAX_DESCRIPTION = 600;

const designSchema = z.object({
  name: z.string().min(1),
  description: z.string().min(1),
  input_schema: z.record(z.string(), z.unknown()),
  tests: z.array(z.object({ input: z.unknown(), expected: z.unknown() })).min(4, 'give at least 4 tests'),
});

/**
 * Asks for a design until one passes the checks (at most `maxDesigns` times), feeding each
 * refusal back; every refusal is added to `attempts`. Undefined when none passed.
 */
export async function designTool(
  deps: DesignDeps,
  request: ToolForgeRequest,
  attempts: ForgeAttempt[],
  signal?: AbortSignal,
): Promise<ToolDesign | undefined> {
  let feedback: string | undefined;
  for (let attempt = 1; attempt <= deps.maxDesigns; attempt++) {
    signal?.throwIfAborted();
    const answer = await deps.modelFor(deps.generator).invoke(
      [
        { role: 'system', content: DESIGN_SYSTEM },
        { role: 'user', content: designPrompt(request.spec, request.task, feedback) },
      ],
      { ...(signal ? { signal } : {}), format: DESIGN_FORMAT },
    );
    try {
      return checkedDesign(deps.ajv, answer);
    } catch (error) {
      feedback =
        error instanceof z.ZodError
          ? error.issues.map((issue) => `${issue.path.join('.') || 'answer'}: ${issue.message}`).join('; ')
          : (error as Error).message;
      attempts.push({ round: 0, stage: 'design', error: feedback });
      deps.logger.info({ attempt, error: feedback }, 'tool design refused');
    }
  }
  return undefined;
}

/** The design in a model's answer; throws what is wrong with it. */
function checkedDesign(ajv: Ajv, answer: string): ToolDesign {
  const parsed = designSchema.parse(extractJson(answer));
  // Schemas are checked on the bot's thread: no regular expressions (catastrophic backtracking).
  const regex = regexKeywordIn(parsed.input_schema);
  if (regex)
    throw new Error(`${regex}: do not use pattern or patternProperties; check formats in run() instead`);
  const validate = ajv.compile(parsed.input_schema);
  parsed.tests.forEach((test, i) => {
    if (!validate(test.input)) {
      throw new Error(
        `test ${i + 1}'s input ${showJson(test.input)} does not match input_schema: ${ajv.errorsText(validate.errors)}`,
      );
    }
  });
  return {
    name: toToolName(parsed.name),
    // The description is shown in every prompt and card: it stays short.
    description: truncate(parsed.description.trim(), MAX_DESCRIPTION),
    inputSchema: parsed.input_schema,
    tests: parsed.tests,
  };
}
