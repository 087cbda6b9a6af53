import { END, isGraphBubbleUp, type LangGraphRunnableConfig, START, StateGraph } from '@langchain/langgraph';
import type { BaseCheckpointSaver } from '@langchain/langgraph-checkpoint';
import type { Clock } from '../services/clock.ts';
import type { EventBus } from '../services/eventBus.ts';
import type { ChatMessage, ChatModel, ModelFor } from '../services/llm/chatModel.ts';
import type { Logger } from '../services/logger.ts';
import type { DialogueRecord } from '../services/memory/interactionLog.ts';
import type { RecallOptions, Recollection } from '../services/memory/memory.ts';
import type { PersonaRegistry } from '../services/personas.ts';
import type {
  ToolBox,
  ToolCallOutcome,
  ToolForge,
  ToolForgeResult,
  ToolInfo,
} from '../services/tools/toolPorts.ts';
import { type ContextLimits, DEFAULT_CONTEXT_LIMITS, latestTurn } from './context.ts';
import { parseDissonance, parseToolCall, parseToolRequest, streamingPreview } from './parsing.ts';
import {
  alfredPlanPrompt,
  alfredSynthesisPrompt,
  brickPrompt,
  robinPrompt,
  systemPromptFor,
  toolResultPrompt,
  toolsSection,
} from './prompts.ts';
import { type RoutingSettings, routeAfterRobin } from './routing.ts';
import {
  DialogueState,
  type DialogueStateUpdate,
  type DialogueStateValue,
  type NodeName,
  type ToolCallRecord,
  type Turn,
} from './state.ts';

export interface DialogueSettings extends RoutingSettings {
  /** A final dissonance above this publishes `high_cognitive_dissonance`. */
  highDissonance: number;
  /** Used when ROBIN gives no readable score. Default 0.5. */
  defaultDissonance: number;
  /** Most tool calls one persona may make in one turn. */
  maxToolCallsPerTurn: number;
  /** Most characters of a tool's result shown to the persona. */
  toolResultChars: number;
  context: ContextLimits;
}

export const DEFAULT_DIALOGUE_SETTINGS: DialogueSettings = {
  convergenceThreshold: 0.3,
  maxTurns: 3,
  maxToolRequests: 2,
  highDissonance: 0.8,
  defaultDissonance: 0.5,
  maxToolCallsPerTurn: 2,
  toolResultChars: 4000,
  context: DEFAULT_CONTEXT_LIMITS,
};

/** Everything the dialogue graph needs, passed in: it reaches for nothing itself. */
export interface DialogueGraphDeps {
  modelFor: ModelFor;
  /** The current personas; a function because a ratified amendment reloads them. */
  personas: () => PersonaRegistry;
  bus: EventBus;
  clock: Clock;
  checkpointer: BaseCheckpointSaver;
  toolForge: ToolForge;
  /** The registered tools the personas may call; none when absent. */
  tools?: ToolBox;
  logger: Logger;
  /** Long-term memory: recall for ALFRED's plan, and the record of every finished run. */
  memory?: DialogueMemory;
  settings?: Partial<DialogueSettings>;
}

/** What the dialogue needs of the memory service. */
export interface DialogueMemory {
  recall(query: string, options?: RecallOptions): Promise<Recollection[]>;
  record(record: Omit<DialogueRecord, 'id'>): Promise<{ id: string }>;
}

/** A persona has started on its turn (LangGraph's `custom` stream). */
export interface ThinkingEvent {
  type: 'thinking';
  persona: string;
  node: NodeName;
}

/** A persona's call waits for a free model slot (`LLM_CONCURRENCY`). */
export interface QueuedEvent {
  type: 'queued';
  persona: string;
  /** 1-based place in the queue. */
  position: number;
  /** Why the model is not free, when it is lent to something (a fine-tune). */
  reason?: string;
}

/** A persona is calling a tool. */
export interface ToolCallEvent {
  type: 'tool_call';
  persona: string;
  tool: string;
}

/**
 * A persona's turn so far, as it streams (only when the run asks for streamed turns): the whole
 * text that may be shown yet, control lines held back. A tool call starts its words afresh.
 */
export interface PartialEvent {
  type: 'partial';
  persona: string;
  node: NodeName;
  text: string;
}

/** A persona's tool call came back (before its turn is over). */
export interface ToolResultEvent {
  type: 'tool_result';
  persona: string;
  call: ToolCallRecord;
}

export type ProgressEvent = ThinkingEvent | QueuedEvent | ToolCallEvent | ToolResultEvent | PartialEvent;

/** What a persona said in one turn, and how. */
interface Spoken {
  text: string;
  model: ChatModel;
  /** The system prompt it was given, as sent. */
  system: string;
  /** The prompt it answered, its tools section included. */
  prompt: string;
  /** Its tool calls and their results, as sent between the prompt and its final words. */
  exchange: ChatMessage[];
  toolCalls: ToolCallRecord[];
  warnings: string[];
  /** Text it was shown that is not its own (the task, tool results, memories): control lines copied from it never count. */
  foreign: string[];
}

/**
 * A tool's result as text a persona might copy: the JSON it returned, and every string inside
 * it as written (a newline in a returned string is a real newline once a persona repeats it).
 */
function resultText(call: ToolCallRecord): string[] {
  if (call.output === undefined) return [call.error ?? ''];
  const strings: string[] = [];
  const collect = (value: unknown) => {
    if (typeof value === 'string') strings.push(value);
    else if (value && typeof value === 'object') for (const item of Object.values(value)) collect(item);
  };
  try {
    collect(JSON.parse(call.output));
  } catch {
    // Clipped JSON: the text itself is what the persona saw.
  }
  return [call.output, ...strings];
}

/** Builds and compiles the Socratic dialogue: ALFRED → BRICK ⇄ ROBIN (→ forge) → ALFRED. */
export function buildDialogueGraph(deps: DialogueGraphDeps) {
  const settings: DialogueSettings = { ...DEFAULT_DIALOGUE_SETTINGS, ...deps.settings };
  const log = deps.logger.child({ module: 'graph' });

  const conversationOf = (config: LangGraphRunnableConfig) => String(config.configurable?.thread_id ?? '');
  /** The server the dialogue runs in (null outside servers): recall and tools stay within it. */
  const guildOf = (config: LangGraphRunnableConfig) =>
    (config.configurable?.guild_id as string | undefined) ?? null;

  /** The tools offered in this run, as the tool box knows them now. */
  function offeredTools(state: DialogueStateValue, config: LangGraphRunnableConfig): ToolInfo[] {
    if (!deps.tools) return [];
    const scope = { guildId: guildOf(config) };
    return (state.tools ?? []).flatMap((name) => deps.tools?.info(name, scope) ?? []);
  }

  async function callTool(
    personaId: string,
    reading: ReturnType<typeof parseToolCall>,
    config: LangGraphRunnableConfig,
  ): Promise<{ record: ToolCallRecord; outcome: ToolCallOutcome }> {
    const name = reading.name ?? '';
    config.writer?.({ type: 'tool_call', persona: personaId, tool: name } satisfies ToolCallEvent);
    let outcome: ToolCallOutcome;
    if (reading.error) outcome = { ok: false, error: reading.error, ms: 0 };
    else if (!deps.tools) outcome = { ok: false, error: 'no tools are available in this deployment', ms: 0 };
    else
      outcome = await deps.tools.call(name, reading.input, {
        guildId: guildOf(config),
        ...(config.signal ? { signal: config.signal } : {}),
      });
    const record: ToolCallRecord = {
      tool: name,
      input: reading.input ?? null,
      ok: outcome.ok,
      ms: outcome.ms,
    };
    if (outcome.ok) record.output = outcome.json.slice(0, settings.toolResultChars);
    else record.error = outcome.error;
    config.writer?.({ type: 'tool_result', persona: personaId, call: record } satisfies ToolResultEvent);
    log.info(
      {
        conversationId: conversationOf(config),
        persona: personaId,
        tool: name,
        ok: outcome.ok,
        ms: outcome.ms,
      },
      'persona called a tool',
    );
    return { record, outcome };
  }

  /**
   * One persona's turn: its prompt (with the tools it may call), then as many tool calls as it
   * makes, up to the limit, each result fed back before it answers.
   */
  async function speak(
    personaId: string,
    node: NodeName,
    basePrompt: string,
    config: LangGraphRunnableConfig,
    state: DialogueStateValue,
    /** Foreign text beside the task and the run's tool results (ALFRED's recalled memories). */
    alsoForeign: readonly string[] = [],
  ): Promise<Spoken> {
    const registry = deps.personas();
    const persona = registry.get(personaId);
    const model = deps.modelFor(personaId);
    const tools = offeredTools(state, config);
    const prompt = [basePrompt, toolsSection(tools)].filter(Boolean).join('\n\n');
    const thinking: ThinkingEvent = { type: 'thinking', persona: personaId, node };
    config.writer?.(thinking);
    const started = deps.clock.now();
    const messages: ChatMessage[] = [
      { role: 'system', content: systemPromptFor(persona, registry.corePrinciples) },
      { role: 'user', content: prompt },
    ];
    // Streamed turns: each piece of the answer updates what may be shown of it so far.
    const streaming = config.configurable?.stream_turns === true;
    let raw = '';
    let shown = '';
    const show = (text: string) => {
      if (text === shown) return;
      shown = text;
      config.writer?.({ type: 'partial', persona: personaId, node, text } satisfies PartialEvent);
    };
    const onToken = (piece: string) => {
      raw += piece;
      show(streamingPreview(raw));
    };
    const ask = () => {
      raw = '';
      if (streaming) show('');
      return model.invoke(messages, {
        ...(config.signal ? { signal: config.signal } : {}),
        ...(streaming ? { onToken } : {}),
        onQueued: (position, reason) =>
          config.writer?.({
            type: 'queued',
            persona: personaId,
            position,
            ...(reason ? { reason } : {}),
          } satisfies QueuedEvent),
      });
    };
    let text = await ask();
    const toolCalls: ToolCallRecord[] = [];
    const warnings: string[] = [];
    const foreign = [...foreignText(state), ...alsoForeign];
    for (;;) {
      const reading = parseToolCall(text, { foreign });
      if (reading.warning) warnings.push(`${personaId}: ${reading.warning}`);
      if (!reading.name) break;
      if (toolCalls.length >= settings.maxToolCallsPerTurn) {
        warnings.push(
          `${personaId} called more than ${settings.maxToolCallsPerTurn} tools in one turn; the rest were ignored`,
        );
        text = reading.display;
        break;
      }
      const { record, outcome } = await callTool(personaId, reading, config);
      toolCalls.push(record);
      foreign.push(...resultText(record));
      messages.push(
        { role: 'assistant', content: text },
        { role: 'user', content: toolResultPrompt(record.tool, outcome, settings.toolResultChars) },
      );
      config.writer?.(thinking);
      text = await ask();
    }
    log.debug(
      {
        conversationId: conversationOf(config),
        persona: personaId,
        node,
        toolCalls: toolCalls.length,
        durationMs: deps.clock.now() - started,
      },
      'persona spoke',
    );
    const [system, , ...exchange] = messages;
    return {
      text: text.trim() || '(no answer)',
      model,
      system: system?.content ?? '',
      prompt,
      exchange,
      toolCalls,
      warnings,
      foreign,
    };
  }

  function turn(state: DialogueStateValue, fields: Omit<Turn, 'run' | 'at'>): Turn {
    return { ...fields, run: state.run, at: deps.clock.now() };
  }

  /** A persona's turn from what it said: its words, model, prompt and tool calls. */
  function spokenTurn(
    state: DialogueStateValue,
    said: Spoken,
    fields: Pick<Turn, 'speaker' | 'kind' | 'display' | 'round' | 'dissonance'>,
  ): Turn {
    return turn(state, {
      ...fields,
      content: said.text,
      model: said.model.model,
      system: said.system,
      prompt: said.prompt,
      // What the persona really saw and said, for the curation loop's samples.
      ...(said.exchange.length
        ? {
            exchange: said.exchange.map((m) => ({
              role: m.role === 'user' ? 'user' : 'assistant',
              content: m.content,
            })),
          }
        : {}),
      ...(said.toolCalls.length ? { toolCalls: said.toolCalls } : {}),
    });
  }

  /** The text of this run that no persona wrote: the task (with its attachments) and every tool result so far. */
  const foreignText = (state: DialogueStateValue): string[] => [
    state.task,
    ...state.turns.filter((t) => t.run === state.run).flatMap((t) => (t.toolCalls ?? []).flatMap(resultText)),
  ];

  async function alfredPlan(
    state: DialogueStateValue,
    config: LangGraphRunnableConfig,
  ): Promise<DialogueStateUpdate> {
    const warnings = [...state.warnings];
    let recollections: Recollection[] = [];
    if (deps.memory) {
      try {
        // A dialogue only ever recalls dialogues from its own server, and of those only what
        // everyone reading this one may read (the bot says which channels).
        const channelIds = config.configurable?.recall_channels as readonly string[] | undefined;
        recollections = await deps.memory.recall(state.task, {
          excludeConversation: conversationOf(config),
          guildId: guildOf(config),
          ...(channelIds ? { channelIds } : {}),
        });
      } catch (error) {
        if (isGraphBubbleUp(error)) throw error;
        warnings.push(`memory recall failed: ${(error as Error).message}`);
        log.warn({ err: error, conversationId: conversationOf(config) }, 'memory recall failed');
      }
    }
    let tools: string[] = [];
    if (deps.tools) {
      try {
        tools = (await deps.tools.relevant(state.task, { guildId: guildOf(config) })).map(
          (tool) => tool.name,
        );
      } catch (error) {
        if (isGraphBubbleUp(error)) throw error;
        warnings.push(`tool retrieval failed: ${(error as Error).message}`);
        log.warn({ err: error, conversationId: conversationOf(config) }, 'tool retrieval failed');
      }
    }
    const prompt = alfredPlanPrompt(state, settings.context, recollections);
    // What ALFRED recalled is data from other dialogues: a control line copied from it never counts.
    const recalled = recollections.flatMap((r) => [r.task, r.answer]);
    const said = await speak('ALFRED', 'alfred_plan', prompt, config, { ...state, tools }, recalled);
    return {
      plan: said.text,
      tools,
      warnings: [...warnings, ...said.warnings],
      turns: [spokenTurn(state, said, { speaker: 'ALFRED', kind: 'plan', display: said.text, round: 0 })],
    };
  }

  async function brick(
    state: DialogueStateValue,
    config: LangGraphRunnableConfig,
  ): Promise<DialogueStateUpdate> {
    const canRequestTool = state.toolRequests < settings.maxToolRequests;
    const prompt = brickPrompt(state, settings.context, canRequestTool);
    const said = await speak('BRICK', 'brick', prompt, config, state);
    const request = parseToolRequest(said.text, { foreign: said.foreign });
    const warnings = [...state.warnings, ...said.warnings];
    if (request.warning) warnings.push(request.warning);
    if (request.spec && !canRequestTool)
      warnings.push('BRICK asked for another tool after the limit; ignored');
    return {
      toolSpec: canRequestTool ? request.spec : null,
      warnings,
      turns: [
        spokenTurn(state, said, {
          speaker: 'BRICK',
          kind: 'thesis',
          display: request.display || said.text,
          round: state.round + 1,
        }),
      ],
    };
  }

  async function robin(
    state: DialogueStateValue,
    config: LangGraphRunnableConfig,
  ): Promise<DialogueStateUpdate> {
    const thesis = latestTurn(state.turns, state.run, 'BRICK');
    const prompt = robinPrompt(state, settings.context, thesis);
    const said = await speak('ROBIN', 'robin', prompt, config, state);
    const reading = parseDissonance(said.text, {
      fallback: settings.defaultDissonance,
      foreign: said.foreign,
    });
    const warnings = [...state.warnings, ...said.warnings];
    if (reading.warning) {
      warnings.push(reading.warning);
      log.warn({ conversationId: conversationOf(config), persona: 'ROBIN' }, reading.warning);
    }
    const round = state.round + 1;
    return {
      round,
      dissonance: reading.value,
      trajectory: [...state.trajectory, reading.value],
      warnings,
      turns: [
        spokenTurn(state, said, {
          speaker: 'ROBIN',
          kind: 'antithesis',
          display: reading.display || said.text,
          round,
          dissonance: reading.value,
        }),
      ],
    };
  }

  async function toolForge(
    state: DialogueStateValue,
    config: LangGraphRunnableConfig,
  ): Promise<DialogueStateUpdate> {
    const spec = state.toolSpec ?? '';
    config.writer?.({ type: 'thinking', persona: 'TOOL_FORGE', node: 'tool_forge' } satisfies ThinkingEvent);
    let result: ToolForgeResult;
    try {
      result = await deps.toolForge.forge(
        {
          spec,
          conversationId: conversationOf(config),
          requestedBy: 'BRICK',
          task: state.task,
          guildId: guildOf(config),
        },
        config.signal ? { signal: config.signal } : {},
      );
    } catch (error) {
      // A shutdown is not a failed forge: the run stops here and resumes from its checkpoint.
      if (isGraphBubbleUp(error) || config.signal?.aborted) throw error;
      log.error({ err: error, conversationId: conversationOf(config) }, 'tool forge failed');
      result = {
        status: 'failed',
        message: `The tool forge failed: ${(error as Error).message ?? String(error)}`,
      };
    }
    const content = `Requested tool: ${spec}\nResult (${result.status}): ${result.message}`;
    const tool = result.tool;
    const forged =
      tool && (result.status === 'created' || result.status === 'reused')
        ? { name: tool.name, version: tool.version, status: result.status }
        : undefined;
    return {
      toolSpec: null,
      toolRequests: state.toolRequests + 1,
      // BRICK now has the tool: it is offered from his next turn on.
      ...(tool ? { tools: [...new Set([...(state.tools ?? []), tool.name])] } : {}),
      turns: [
        turn(state, {
          speaker: 'TOOL_FORGE',
          kind: 'tool',
          content,
          display: content,
          round: state.round,
          ...(forged ? { forged } : {}),
        }),
      ],
    };
  }

  async function alfredSynthesize(
    state: DialogueStateValue,
    config: LangGraphRunnableConfig,
  ): Promise<DialogueStateUpdate> {
    const thesis = latestTurn(state.turns, state.run, 'BRICK');
    const antithesis = latestTurn(state.turns, state.run, 'ROBIN');
    const prompt = alfredSynthesisPrompt(state, settings.context, thesis, antithesis);
    const said = await speak('ALFRED', 'alfred_synthesize', prompt, config, state);
    return {
      answer: said.text,
      ...(said.warnings.length ? { warnings: [...state.warnings, ...said.warnings] } : {}),
      turns: [
        spokenTurn(state, said, {
          speaker: 'ALFRED',
          kind: 'answer',
          display: said.text,
          round: state.round,
        }),
      ],
    };
  }

  return new StateGraph(DialogueState)
    .addNode('alfred_plan', alfredPlan)
    .addNode('brick', brick)
    .addNode('robin', robin)
    .addNode('tool_forge', toolForge)
    .addNode('alfred_synthesize', alfredSynthesize)
    .addEdge(START, 'alfred_plan')
    .addEdge('alfred_plan', 'brick')
    .addEdge('brick', 'robin')
    .addConditionalEdges('robin', (state) => routeAfterRobin(state, settings), [
      'tool_forge',
      'brick',
      'alfred_synthesize',
    ])
    .addEdge('tool_forge', 'brick')
    .addEdge('alfred_synthesize', END)
    .compile({ checkpointer: deps.checkpointer });
}

export type DialogueGraph = ReturnType<typeof buildDialogueGraph>;

/** Enough LangGraph steps for the longest legal run (plan, rounds, forge visits, synthesis). */
export function recursionLimitFor(settings: Pick<RoutingSettings, 'maxTurns' | 'maxToolRequests'>): number {
  return 2 + 2 * (settings.maxTurns + settings.maxToolRequests) + settings.maxToolRequests + 5;
}
