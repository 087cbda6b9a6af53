import { END, isGraphBubbleUp, type LangGraphRunnableConfig, START, StateGraph } from '@langchain/langgraph';
import type { BaseCheckpointSaver } from '@langchain/langgraph-checkpoint';
import type { Clock } from '../services/clock.ts';
import type { EventBus } from '../services/eventBus.ts';
import type { ChatModel, ModelFor } from '../services/llm/chatModel.ts';
import type { Logger } from '../services/logger.ts';
import type { DialogueRecord } from '../services/memory/interactionLog.ts';
import type { RecallOptions, Recollection } from '../services/memory/memory.ts';
import type { PersonaRegistry } from '../services/personas.ts';
import type { ToolForge, ToolForgeResult } from '../services/toolForge.ts';
import { type ContextLimits, DEFAULT_CONTEXT_LIMITS, latestTurn } from './context.ts';
import { parseDissonance, parseToolRequest } from './parsing.ts';
import {
  alfredPlanPrompt,
  alfredSynthesisPrompt,
  brickPrompt,
  robinPrompt,
  systemPromptFor,
} from './prompts.ts';
import { type RoutingSettings, routeAfterRobin } from './routing.ts';
import {
  DialogueState,
  type DialogueStateUpdate,
  type DialogueStateValue,
  type NodeName,
  type Turn,
} from './state.ts';

export interface DialogueSettings extends RoutingSettings {
  /** A final dissonance above this publishes `high_cognitive_dissonance`. */
  highDissonance: number;
  /** Used when ROBIN gives no readable score. Default 0.5. */
  defaultDissonance: number;
  context: ContextLimits;
}

export const DEFAULT_DIALOGUE_SETTINGS: DialogueSettings = {
  convergenceThreshold: 0.3,
  maxTurns: 3,
  maxToolRequests: 2,
  highDissonance: 0.8,
  defaultDissonance: 0.5,
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
  logger: Logger;
  /** Long-term memory: recall for ALFRED's plan, and the record of every finished run. */
  memory?: DialogueMemory;
  settings?: Partial<DialogueSettings>;
}

/** What the dialogue needs of the memory service. */
export interface DialogueMemory {
  recall(query: string, options?: RecallOptions): Promise<Recollection[]>;
  record(record: Omit<DialogueRecord, 'id'>): Promise<unknown>;
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
}

export type ProgressEvent = ThinkingEvent | QueuedEvent;

/** Builds and compiles the Socratic dialogue: ALFRED → BRICK ⇄ ROBIN (→ forge) → ALFRED. */
export function buildDialogueGraph(deps: DialogueGraphDeps) {
  const settings: DialogueSettings = { ...DEFAULT_DIALOGUE_SETTINGS, ...deps.settings };
  const log = deps.logger.child({ module: 'graph' });

  const conversationOf = (config: LangGraphRunnableConfig) => String(config.configurable?.thread_id ?? '');

  async function speak(
    personaId: string,
    node: NodeName,
    prompt: string,
    config: LangGraphRunnableConfig,
  ): Promise<{ text: string; model: ChatModel; prompt: string }> {
    const registry = deps.personas();
    const persona = registry.get(personaId);
    const model = deps.modelFor(personaId);
    const thinking: ThinkingEvent = { type: 'thinking', persona: personaId, node };
    config.writer?.(thinking);
    const started = deps.clock.now();
    const text = await model.invoke(
      [
        { role: 'system', content: systemPromptFor(persona, registry.corePrinciples) },
        { role: 'user', content: prompt },
      ],
      {
        ...(config.signal ? { signal: config.signal } : {}),
        onQueued: (position) =>
          config.writer?.({ type: 'queued', persona: personaId, position } satisfies QueuedEvent),
      },
    );
    log.debug(
      {
        conversationId: conversationOf(config),
        persona: personaId,
        node,
        durationMs: deps.clock.now() - started,
      },
      'persona spoke',
    );
    return { text: text.trim() || '(no answer)', model, prompt };
  }

  function turn(state: DialogueStateValue, fields: Omit<Turn, 'run' | 'at'>): Turn {
    return { ...fields, run: state.run, at: deps.clock.now() };
  }

  const userText = (state: DialogueStateValue) => [state.task];

  async function alfredPlan(
    state: DialogueStateValue,
    config: LangGraphRunnableConfig,
  ): Promise<DialogueStateUpdate> {
    const warnings = [...state.warnings];
    let recollections: Recollection[] = [];
    if (deps.memory) {
      try {
        // A dialogue only ever recalls dialogues from its own server.
        const guildId = config.configurable?.guild_id as string | undefined;
        recollections = await deps.memory.recall(state.task, {
          excludeConversation: conversationOf(config),
          guildId: guildId ?? null,
        });
      } catch (error) {
        if (isGraphBubbleUp(error)) throw error;
        warnings.push(`memory recall failed: ${(error as Error).message}`);
        log.warn({ err: error, conversationId: conversationOf(config) }, 'memory recall failed');
      }
    }
    const prompt = alfredPlanPrompt(state, settings.context, recollections);
    const { text, model } = await speak('ALFRED', 'alfred_plan', prompt, config);
    return {
      plan: text,
      warnings,
      turns: [
        turn(state, {
          speaker: 'ALFRED',
          kind: 'plan',
          content: text,
          display: text,
          round: 0,
          model: model.model,
          prompt,
        }),
      ],
    };
  }

  async function brick(
    state: DialogueStateValue,
    config: LangGraphRunnableConfig,
  ): Promise<DialogueStateUpdate> {
    const canRequestTool = state.toolRequests < settings.maxToolRequests;
    const prompt = brickPrompt(state, settings.context, canRequestTool);
    const { text, model } = await speak('BRICK', 'brick', prompt, config);
    const request = parseToolRequest(text, { userText: userText(state) });
    const warnings = [...state.warnings];
    if (request.warning) warnings.push(request.warning);
    if (request.spec && !canRequestTool)
      warnings.push('BRICK asked for another tool after the limit; ignored');
    return {
      toolSpec: canRequestTool ? request.spec : null,
      warnings,
      turns: [
        turn(state, {
          speaker: 'BRICK',
          kind: 'thesis',
          content: text,
          display: request.display || text,
          round: state.round + 1,
          model: model.model,
          prompt,
        }),
      ],
    };
  }

  async function robin(
    state: DialogueStateValue,
    config: LangGraphRunnableConfig,
  ): Promise<DialogueStateUpdate> {
    const thesis = latestTurn(state.turns, state.run, 'BRICK');
    const { text, model, prompt } = await speak(
      'ROBIN',
      'robin',
      robinPrompt(state, settings.context, thesis),
      config,
    );
    const reading = parseDissonance(text, {
      fallback: settings.defaultDissonance,
      userText: userText(state),
    });
    const warnings = [...state.warnings];
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
        turn(state, {
          speaker: 'ROBIN',
          kind: 'antithesis',
          content: text,
          display: reading.display || text,
          round,
          dissonance: reading.value,
          model: model.model,
          prompt,
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
        { spec, conversationId: conversationOf(config), requestedBy: 'BRICK', task: state.task },
        config.signal ? { signal: config.signal } : {},
      );
    } catch (error) {
      if (isGraphBubbleUp(error)) throw error;
      log.error({ err: error, conversationId: conversationOf(config) }, 'tool forge failed');
      result = {
        status: 'failed',
        message: `The tool forge failed: ${(error as Error).message ?? String(error)}`,
      };
    }
    const content = `Requested tool: ${spec}\nResult (${result.status}): ${result.message}`;
    return {
      toolSpec: null,
      toolRequests: state.toolRequests + 1,
      turns: [
        turn(state, { speaker: 'TOOL_FORGE', kind: 'tool', content, display: content, round: state.round }),
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
    const { text, model } = await speak('ALFRED', 'alfred_synthesize', prompt, config);
    if (state.dissonance !== null && state.dissonance > settings.highDissonance) {
      deps.bus.publish('high_cognitive_dissonance', {
        conversationId: conversationOf(config),
        task: state.task,
        dissonance: state.dissonance,
        trajectory: state.trajectory,
        at: deps.clock.now(),
      });
    }
    return {
      answer: text,
      turns: [
        turn(state, {
          speaker: 'ALFRED',
          kind: 'answer',
          content: text,
          display: text,
          round: state.round,
          model: model.model,
          prompt,
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
