import type { BaseCheckpointSaver } from '@langchain/langgraph-checkpoint';
import type { Clock } from '../services/clock.ts';
import type { EventBus } from '../services/eventBus.ts';
import type { ModelFor } from '../services/llm/chatModel.ts';
import type { Logger } from '../services/logger.ts';
import type { DialogueRecord } from '../services/memory/interactionLog.ts';
import type { RecallOptions, Recollection } from '../services/memory/memory.ts';
import type { PersonaRegistry } from '../services/personas.ts';
import type { ToolBox, ToolForge } from '../services/tools/toolPorts.ts';
import { DEFAULT_DIALOGUE_SETTINGS, type DialogueSettings } from './settings.ts';

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

/** What the nodes are given: the graph's dependencies, its settings filled in, its own logger. */
export interface NodeDeps {
  modelFor: ModelFor;
  personas: () => PersonaRegistry;
  clock: Clock;
  toolForge: ToolForge;
  tools?: ToolBox;
  memory?: DialogueMemory;
  settings: DialogueSettings;
  log: Logger;
}

export function nodeDepsFrom(deps: DialogueGraphDeps): NodeDeps {
  return {
    modelFor: deps.modelFor,
    personas: deps.personas,
    clock: deps.clock,
    toolForge: deps.toolForge,
    ...(deps.tools ? { tools: deps.tools } : {}),
    ...(deps.memory ? { memory: deps.memory } : {}),
    settings: { ...DEFAULT_DIALOGUE_SETTINGS, ...deps.settings },
    log: deps.logger.child({ module: 'graph' }),
  };
}
