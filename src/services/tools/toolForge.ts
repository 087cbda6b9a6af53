import { Ajv } from 'ajv';
import { z } from 'zod';
import { truncate } from '../../shared/text.ts';
import type { Clock } from '../clock.ts';
import type { EventBus } from '../eventBus.ts';
import type { ModelFor } from '../llm/chatModel.ts';
import type { Logger } from '../logger.ts';
import { checkToolCode } from './codeGate.ts';
import { describeFailureKind } from './sandbox.ts';
import {
  DESIGN_FORMAT,
  DESIGN_SYSTEM,
  designPrompt,
  extractCode,
  extractJson,
  IMPLEMENT_SYSTEM,
  type ImplementationFeedback,
  implementPrompt,
} from './toolForgePrompts.ts';
import type { ToolForge, ToolForgeRequest, ToolForgeResult } from './toolPorts.ts';
import {
  type ForgeAttempt,
  type StoredTool,
  type ToolTestRecord,
  toToolName,
  visibleIn,
} from './toolRegistry.ts';
import { regexKeywordIn, type ToolService, toolInfo } from './toolService.ts';

/**
 * The tactical loop (Voyager, LATM, CREATOR, CRAFT): look for a stored tool first; otherwise
 * design one (name, description, schema, tests), implement it apart from its tests, pass the
 * static gate and the sandboxed tests (one held out), retry with the failure fed back, and
 * register what passes.
 */

export interface ForgeSettings {
  /** Most implementation rounds (default 4). */
  maxRounds: number;
  /** Most design attempts (default 2). */
  maxDesigns: number;
  /** A stored tool at least this similar to the spec is reused (default 0.9). */
  reuseSimilarity: number;
}

/** Longest tool description kept (prompts and Discord cards show it whole). */
const MAX_DESCRIPTION = 600;

export const DEFAULT_FORGE_SETTINGS: ForgeSettings = { maxRounds: 4, maxDesigns: 2, reuseSimilarity: 0.9 };

export interface ForgeDeps {
  modelFor: ModelFor;
  tools: ToolService;
  bus: EventBus;
  clock: Clock;
  logger: Logger;
  /** The codex version, recorded in each manifest. */
  codexVersion: () => number;
  /** The persona whose model writes tools (default BRICK, the logician). */
  generator?: string;
  settings?: Partial<ForgeSettings>;
}

const designSchema = z.object({
  name: z.string().min(1),
  description: z.string().min(1),
  input_schema: z.record(z.string(), z.unknown()),
  tests: z.array(z.object({ input: z.unknown(), expected: z.unknown() })).min(4, 'give at least 4 tests'),
});

interface Design {
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
  tests: Array<{ input: unknown; expected: unknown }>;
}

/** JSON equality, with a little slack for floating point. */
export function sameJson(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number') {
    return a === b || Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    return (
      Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => sameJson(x, b[i]))
    );
  }
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return (
      ka.length === kb.length &&
      ka.every(
        (k) => k in b && sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]),
      )
    );
  }
  return a === b;
}

const show = (value: unknown, max = 300) => truncate(JSON.stringify(value) ?? String(value), max);

export function createToolForge(deps: ForgeDeps): ToolForge {
  const settings = { ...DEFAULT_FORGE_SETTINGS, ...deps.settings };
  const generator = deps.generator ?? 'BRICK';
  const log = deps.logger.child({ module: 'tool-forge' });
  const ajv = new Ajv({ strict: false, allErrors: true });

  async function design(
    request: ToolForgeRequest,
    attempts: ForgeAttempt[],
    signal?: AbortSignal,
  ): Promise<Design | undefined> {
    let feedback: string | undefined;
    for (let attempt = 1; attempt <= settings.maxDesigns; attempt++) {
      signal?.throwIfAborted();
      const answer = await deps.modelFor(generator).invoke(
        [
          { role: 'system', content: DESIGN_SYSTEM },
          { role: 'user', content: designPrompt(request.spec, request.task, feedback) },
        ],
        { ...(signal ? { signal } : {}), format: DESIGN_FORMAT },
      );
      try {
        const parsed = designSchema.parse(extractJson(answer));
        // Schemas are checked on the bot's thread: no regular expressions (catastrophic backtracking).
        const regex = regexKeywordIn(parsed.input_schema);
        if (regex)
          throw new Error(
            `${regex}: do not use pattern or patternProperties; check formats in run() instead`,
          );
        const validate = ajv.compile(parsed.input_schema);
        parsed.tests.forEach((test, i) => {
          if (!validate(test.input)) {
            throw new Error(
              `test ${i + 1}'s input ${show(test.input)} does not match input_schema: ${ajv.errorsText(validate.errors)}`,
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
      } catch (error) {
        feedback =
          error instanceof z.ZodError
            ? error.issues.map((issue) => `${issue.path.join('.') || 'answer'}: ${issue.message}`).join('; ')
            : (error as Error).message;
        attempts.push({ round: 0, stage: 'design', error: feedback });
        log.info({ attempt, error: feedback }, 'tool design refused');
      }
    }
    return undefined;
  }

  /** Runs every test; returns the records and the first failure's feedback. */
  async function test(code: string, tests: Design['tests'], signal?: AbortSignal) {
    const heldOut = tests.length - 1;
    const records: ToolTestRecord[] = [];
    let failure: string | undefined;
    for (const [i, example] of tests.entries()) {
      const result = await deps.tools.sandbox.run(code, example.input, signal ? { signal } : {});
      const record: ToolTestRecord = {
        input: example.input,
        expected: example.expected,
        heldOut: i === heldOut,
        passed: result.ok && sameJson(result.value, example.expected),
        ms: Math.round(result.ms * 100) / 100,
      };
      if (result.ok) record.actual = result.value;
      else record.error = `${describeFailureKind(result.kind, deps.tools.sandbox.limits)}: ${result.message}`;
      records.push(record);
      if (record.passed || failure) continue;
      if (record.heldOut) {
        // The held-out case stays unseen: say that it failed, not what it was.
        failure =
          'a held-out test you have not seen failed; re-read the specification for cases your code does not handle';
      } else {
        failure = `test ${i + 1}: run(${show(example.input)}) should return ${show(example.expected)} but ${
          result.ok ? `returned ${show(result.value)}` : record.error
        }`;
      }
    }
    return { records, failure };
  }

  function refusal(request: ToolForgeRequest, why: string, attempts: ForgeAttempt[]): ToolForgeResult {
    const rounds = attempts.map((a) => `${a.round ? `round ${a.round}` : 'design'} (${a.stage}): ${a.error}`);
    log.warn({ conversationId: request.conversationId, spec: request.spec, attempts: attempts.length }, why);
    return {
      status: 'failed',
      message: `No tool was forged for ${show(request.spec, 200)}: ${why}.${rounds.length ? `\n${rounds.map((r) => `- ${r}`).join('\n')}` : ''}\nCarry on without it.`,
    };
  }

  function announce(tool: StoredTool, request: ToolForgeRequest) {
    deps.bus.publish('tool_forged', {
      tool: tool.manifest,
      code: tool.code,
      conversationId: request.conversationId,
      requestedBy: request.requestedBy,
    });
  }

  /** `name`, or `name_2`, `name_3`, … when a tool of that name belongs to another server. */
  function freeName(name: string, guildId: string | null): string {
    const owner = (candidate: string) => deps.tools.registry.get(candidate)?.manifest;
    let candidate = name;
    for (let n = 2; owner(candidate) && !visibleIn(owner(candidate) ?? {}, guildId); n++) {
      candidate = `${name.slice(0, 44)}_${n}`;
    }
    return candidate;
  }

  return {
    async forge(request, options = {}) {
      const { signal } = options;
      const spec = request.spec.trim();
      if (!spec) return { status: 'failed', message: 'No tool was forged: the specification is empty.' };

      // 1. Look before making.
      // Only what this server may see: another server's tool (its spec may quote a private
      // dialogue) is never offered here, nor extended with a new version from here.
      const scope = { guildId: request.guildId ?? null };
      const match = await deps.tools.closest(spec, scope);
      if (match && match.similarity >= settings.reuseSimilarity) {
        const info = toolInfo(match.tool);
        log.info({ tool: info.name, similarity: match.similarity }, 'reusing a stored tool');
        return {
          status: 'reused',
          toolName: info.name,
          tool: info,
          message: `The stored tool \`${info.name}\` (v${info.version}) already does this: ${info.description} Call it as described in your tools list.`,
        };
      }

      // 2. Design: name, description, schema, tests (one held out).
      const attempts: ForgeAttempt[] = [];
      const designed = await design({ ...request, spec }, attempts, signal);
      if (!designed) return refusal(request, `no usable design after ${settings.maxDesigns} tries`, attempts);
      const visible = designed.tests.slice(0, -1);

      // 3–5. Implement, gate, test; feed back the failure; at most maxRounds.
      let feedback: ImplementationFeedback | undefined;
      let model = '';
      for (let round = 1; round <= settings.maxRounds; round++) {
        signal?.throwIfAborted();
        const chat = deps.modelFor(generator);
        model = chat.model;
        const answer = await chat.invoke(
          [
            { role: 'system', content: IMPLEMENT_SYSTEM },
            { role: 'user', content: implementPrompt({ ...designed, spec }, visible, feedback) },
          ],
          signal ? { signal } : {},
        );
        const code = extractCode(answer);
        if (!code) {
          attempts.push({ round, stage: 'generate', error: 'the answer held no code block' });
          feedback = { code: answer.slice(0, 2000), error: 'the answer held no ```js code block' };
          continue;
        }
        const verdict = checkToolCode(code);
        if (!verdict.ok) {
          const error = verdict.problems.join('; ');
          attempts.push({ round, stage: 'static', error });
          feedback = { code, error: `the static gate refused it: ${error}` };
          log.info({ round, tool: designed.name, error }, 'forged code refused by the static gate');
          continue;
        }
        const { records, failure } = await test(code, designed.tests, signal);
        if (failure) {
          attempts.push({ round, stage: 'sandbox', error: failure });
          feedback = { code, error: failure };
          log.info({ round, tool: designed.name, error: failure }, 'forged code failed its tests');
          continue;
        }

        // 6. Register: a name collision in scope makes a new version; a name another server
        // holds is not theirs to extend, so the new tool takes a free one.
        const tool = deps.tools.registry.register(
          {
            name: freeName(designed.name, scope.guildId),
            description: designed.description,
            spec,
            entry: 'run',
            inputSchema: designed.inputSchema,
            tests: records,
            attempts,
            rounds: round,
            model,
            codexVersion: deps.codexVersion(),
            createdAt: new Date(deps.clock.now()).toISOString(),
            requestedBy: request.requestedBy,
            conversationId: request.conversationId,
            ...(request.guildId ? { guildId: request.guildId } : {}),
          },
          code,
        );
        await deps.tools.index(tool);
        log.info(
          { tool: tool.manifest.name, version: tool.manifest.version, rounds: round },
          'tool forged and registered',
        );
        // 7. Announce.
        announce(tool, request);
        const info = toolInfo(tool);
        return {
          status: 'created',
          toolName: info.name,
          tool: info,
          message: `Forged \`${info.name}\`${info.version > 1 ? ` (version ${info.version})` : ''} in ${round} round${
            round === 1 ? '' : 's'
          }: ${info.description} It passed all ${records.length} tests (1 held out). It is now in your tools list.`,
        };
      }
      return refusal(request, `the code never passed its tests in ${settings.maxRounds} rounds`, attempts);
    },
  };
}
