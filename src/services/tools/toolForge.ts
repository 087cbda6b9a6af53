import { Ajv } from 'ajv';
import type { Clock } from '../clock.ts';
import type { EventBus } from '../eventBus.ts';
import type { ModelFor } from '../llm/chatModel.ts';
import type { Logger } from '../logger.ts';
import { checkToolCode } from './codeGate.ts';
import { runToolTests } from './runToolTests.ts';
import { type DesignDeps, designTool, type ToolDesign } from './toolDesign.ts';
import {
  extractCode,
  IMPLEMENT_SYSTEM,
  type ImplementationFeedback,
  implementPrompt,
  showJson,
} from './toolForgePrompts.ts';
import type { ToolForge, ToolForgeRequest, ToolForgeResult, ToolScope } from './toolPorts.ts';
import {
  type ForgeAttempt,
  mayExtend,
  type StoredTool,
  type ToolManifest,
  ToolNameTaken,
  type ToolTestRecord,
} from './toolRegistry.ts';
import { type ToolService, toolInfo } from './toolService.ts';

/**
 * The tactical loop (Voyager, LATM, CREATOR, CRAFT): look for a stored tool first; otherwise
 * design one (name, description, schema, tests: `toolDesign.ts`), implement it apart from its
 * tests, pass the static gate and the sandboxed tests (one held out: `runToolTests.ts`), retry
 * with the failure fed back, and register what passes.
 */

export interface ForgeSettings {
  /** Most implementation rounds (default 4). */
  maxRounds: number;
  /** Most design attempts (default 2). */
  maxDesigns: number;
  /** A stored tool at least this similar to the spec is reused (default 0.9). */
  reuseSimilarity: number;
}

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

/** What the forge's steps share: its deps with the defaults filled in. */
interface Forge {
  deps: ForgeDeps;
  settings: ForgeSettings;
  generator: string;
  logger: Logger;
  design: DesignDeps;
}

/** Code that passed every test, and the round it took. */
interface Implementation {
  code: string;
  records: ToolTestRecord[];
  round: number;
  /** The model that wrote it. */
  model: string;
}

export function createToolForge(deps: ForgeDeps): ToolForge {
  const settings = { ...DEFAULT_FORGE_SETTINGS, ...deps.settings };
  const generator = deps.generator ?? 'BRICK';
  const logger = deps.logger.child({ module: 'tool-forge' });
  const ajv = new Ajv({ strict: false, allErrors: true });
  const design = { modelFor: deps.modelFor, generator, maxDesigns: settings.maxDesigns, ajv, logger };
  const forge: Forge = { deps, settings, generator, logger, design };
  return { forge: (request, options = {}) => forgeTool(forge, request, options.signal) };
}

async function forgeTool(
  forge: Forge,
  request: ToolForgeRequest,
  signal: AbortSignal | undefined,
): Promise<ToolForgeResult> {
  const spec = request.spec.trim();
  if (!spec) return { status: 'failed', message: 'No tool was forged: the specification is empty.' };

  // 1. Look before making.
  const reused = await reuseStoredTool(forge, spec, {
    guildId: request.guildId ?? null,
    ...(request.readableChannels ? { channelIds: request.readableChannels } : {}),
  });
  if (reused) return reused;

  // 2. Design: name, description, schema, tests (one held out).
  const attempts: ForgeAttempt[] = [];
  const designed = await designTool(forge.design, { ...request, spec }, attempts, signal);
  if (!designed)
    return refusal(forge, request, `no usable design after ${forge.settings.maxDesigns} tries`, attempts);

  // 3–5. Implement, gate, test; feed back the failure; at most maxRounds.
  const implemented = await implementTool(forge, designed, spec, attempts, signal);
  if (!implemented) {
    return refusal(
      forge,
      request,
      `the code never passed its tests in ${forge.settings.maxRounds} rounds`,
      attempts,
    );
  }

  // 6–7. Register and announce.
  const tool = await registerTool(forge, request, { ...designed, spec }, implemented, attempts);
  const info = toolInfo(tool);
  const { round, records } = implemented;
  return {
    status: 'created',
    toolName: info.name,
    tool: info,
    message: `Forged \`${info.name}\`${info.version > 1 ? ` (version ${info.version})` : ''} in ${round} round${
      round === 1 ? '' : 's'
    }: ${info.description} It passed all ${records.length} tests (1 held out). It is now in your tools list.`,
  };
}

/**
 * The stored tool that already does what `spec` asks, if one is similar enough. Only what this
 * place may see: another server's tool, or one forged where its readers may not read (its spec
 * may quote a private dialogue), is never offered here, nor extended with a new version from here.
 */
async function reuseStoredTool(
  forge: Forge,
  spec: string,
  scope: ToolScope,
): Promise<ToolForgeResult | undefined> {
  const match = await forge.deps.tools.closest(spec, scope);
  if (!match || match.similarity < forge.settings.reuseSimilarity) return undefined;
  const info = toolInfo(match.tool);
  forge.logger.info({ tool: info.name, similarity: match.similarity }, 'reusing a stored tool');
  return {
    status: 'reused',
    toolName: info.name,
    tool: info,
    message: `The stored tool \`${info.name}\` (v${info.version}) already does this: ${info.description} Call it as described in your tools list.`,
  };
}

/** Asks for code until it passes the gate and every test (at most `maxRounds` rounds), feeding each failure back. */
async function implementTool(
  forge: Forge,
  designed: ToolDesign,
  spec: string,
  attempts: ForgeAttempt[],
  signal: AbortSignal | undefined,
): Promise<Implementation | undefined> {
  const visible = designed.tests.slice(0, -1);
  let feedback: ImplementationFeedback | undefined;
  for (let round = 1; round <= forge.settings.maxRounds; round++) {
    signal?.throwIfAborted();
    const chat = forge.deps.modelFor(forge.generator);
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
      forge.logger.info({ round, tool: designed.name, error }, 'forged code refused by the static gate');
      continue;
    }
    const { records, failure } = await runToolTests(forge.deps.tools.sandbox, code, designed.tests, signal);
    if (!failure) return { code, records, round, model: chat.model };
    attempts.push({ round, stage: 'sandbox', error: failure });
    feedback = { code, error: failure };
    forge.logger.info({ round, tool: designed.name, error: failure }, 'forged code failed its tests');
  }
  return undefined;
}

/**
 * Registers the forged tool, indexes it for retrieval and announces it. A name its owner already
 * holds makes a new version; a name held by another server or another owner is not theirs to
 * extend, so the new tool takes a free one.
 */
async function registerTool(
  forge: Forge,
  request: ToolForgeRequest,
  designed: ToolDesign & { spec: string },
  implemented: Implementation,
  attempts: ForgeAttempt[],
): Promise<StoredTool> {
  const { deps } = forge;
  const tool = await registerUnderFreeName(forge, request, designed, implemented, attempts);
  await deps.tools.index(tool);
  forge.logger.info(
    { tool: tool.manifest.name, version: tool.manifest.version, rounds: implemented.round },
    'tool forged and registered',
  );
  deps.bus.publish('tool_forged', {
    tool: tool.manifest,
    code: tool.code,
    conversationId: request.conversationId,
    requestedBy: request.requestedBy,
    ...(request.channelId ? { channelId: request.channelId } : {}),
  });
  return tool;
}

/** How many times the forge names a tool afresh when another process took the name first. */
const NAMING_TRIES = 3;

/**
 * Writes the tool under its designed name, or a free one where that is another's (`freeName`).
 * Named and written in one synchronous stretch (in a folder): no other forge of this process can
 * take the name in between. In a database another process may: the store refuses a name taken
 * since this look (`ToolNameTaken`), and the forge looks again.
 */
async function registerUnderFreeName(
  forge: Forge,
  request: ToolForgeRequest,
  designed: ToolDesign & { spec: string },
  implemented: Implementation,
  attempts: ForgeAttempt[],
): Promise<StoredTool> {
  const { deps } = forge;
  const forgedFor = request.forgedFor ?? undefined;
  const owner = {
    requestedBy: request.requestedBy,
    ...(forgedFor ? { forgedFor } : {}),
    ...(request.guildId ? { guildId: request.guildId } : {}),
  };
  for (let tries = 1; ; tries++) {
    // The names other processes took since the last look count too.
    await deps.tools.registry.refresh();
    const name = freeName(deps.tools, designed.name, owner);
    if (name !== designed.name) {
      forge.logger.info(
        { tool: name, designed: designed.name },
        'the designed name is another’s tool; forged under its own',
      );
    }
    try {
      return await deps.tools.registry.register(
        {
          name,
          description: designed.description,
          spec: designed.spec,
          entry: 'run',
          inputSchema: designed.inputSchema,
          tests: implemented.records,
          attempts,
          rounds: implemented.round,
          model: implemented.model,
          codexVersion: deps.codexVersion(),
          createdAt: new Date(deps.clock.now()).toISOString(),
          ...owner,
          conversationId: request.conversationId,
          ...(request.placeId ? { channelId: request.placeId } : {}),
        },
        implemented.code,
      );
    } catch (error) {
      if (!(error instanceof ToolNameTaken) || tries >= NAMING_TRIES) throw error;
      forge.logger.info({ tool: name }, 'another process took the tool name meanwhile; naming it again');
    }
  }
}

function refusal(
  forge: Forge,
  request: ToolForgeRequest,
  why: string,
  attempts: ForgeAttempt[],
): ToolForgeResult {
  const rounds = attempts.map((a) => `${a.round ? `round ${a.round}` : 'design'} (${a.stage}): ${a.error}`);
  forge.logger.warn(
    { conversationId: request.conversationId, spec: request.spec, attempts: attempts.length },
    why,
  );
  return {
    status: 'failed',
    message: `No tool was forged for ${showJson(request.spec, 200)}: ${why}.${rounds.length ? `\n${rounds.map((r) => `- ${r}`).join('\n')}` : ''}\nCarry on without it.`,
  };
}

/**
 * `name`, or `name_2`, `name_3`, … when a tool of that name is not the new tool's to extend
 * (`mayExtend`): it belongs to another server, or another member (or the architect) forged it.
 */
function freeName(
  tools: ToolService,
  name: string,
  tool: Pick<ToolManifest, 'guildId' | 'forgedFor' | 'requestedBy'>,
): string {
  const { registry } = tools;
  const taken = (candidate: string) =>
    !mayExtend(
      registry.versions(candidate).map((version) => registry.get(candidate, version)?.manifest),
      tool,
    );
  let candidate = name;
  for (let n = 2; taken(candidate); n++) candidate = `${name.slice(0, 44)}_${n}`;
  return candidate;
}
