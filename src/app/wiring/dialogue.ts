import type { Dialogue } from '../../graph/dialogue.ts';
import type { CheckpointStore } from '../../services/checkpointStore.ts';
import type { Clock } from '../../services/clock.ts';
import type { Config } from '../../services/config.ts';
import { dropped, storeLocation } from '../../services/db/openStoreDatabase.ts';
import type { EventBus } from '../../services/eventBus.ts';
import type { Forgotten } from '../../services/forgetting/forgotten.ts';
import type { ModelFor } from '../../services/llm/chatModel.ts';
import type { Logger } from '../../services/logger.ts';
import type { Memory } from '../../services/memory/memory.ts';
import type { PersonaRegistry } from '../../services/personas.ts';
import type { ToolForge } from '../../services/tools/toolPorts.ts';
import type { ToolService } from '../../services/tools/toolService.ts';
import { createLazy } from '../../shared/lazy.ts';

export interface DialogueParts {
  config: Config;
  logger: Logger;
  clock: Clock;
  bus: EventBus;
  modelFor: ModelFor;
  personas: () => PersonaRegistry;
  memory: Memory;
  tools: ToolService;
  toolForge: ToolForge;
}

/**
 * The dialogue, built on its first use: LangGraph, LangChain and the checkpoint database load
 * then, so that the bot reaches Discord sooner and idles lighter. `close` closes the checkpoint
 * database once a build under way has settled; a build after it refuses.
 */
export function lazyDialogue(parts: DialogueParts): {
  dialogue: Dialogue;
  /** Cuts forgotten dialogues from the other conversations' checkpoints (`/memory forget`). */
  forgetQuotes(forgotten: Forgotten): Promise<number>;
  close(): Promise<void>;
} {
  const { config } = parts;
  let store: CheckpointStore | undefined;
  let closed = false;
  const built = createLazy(async () => {
    const [{ openCheckpointStore }, { createDialogue }] = await Promise.all([
      import('../../services/checkpointStore.ts'),
      import('../../graph/dialogue.ts'),
    ]);
    if (closed) throw new Error('the runtime is closed');
    const opened = await openCheckpointStore(storeLocation(config, dropped(parts.logger)));
    if (closed) {
      await opened.close();
      throw new Error('the runtime is closed');
    }
    store = opened;
    return createDialogue({
      modelFor: parts.modelFor,
      personas: parts.personas,
      bus: parts.bus,
      clock: parts.clock,
      checkpointer: opened.saver,
      toolForge: parts.toolForge,
      tools: parts.tools,
      logger: parts.logger,
      memory: {
        recall: (query, recallOptions) =>
          config.memoryRecallK > 0 ? parts.memory.recall(query, recallOptions) : Promise.resolve([]),
        record: (record) => parts.memory.record(record),
      },
      settings: {
        convergenceThreshold: config.convergenceThreshold,
        maxTurns: config.maxTurns,
        highDissonance: config.highDissonance,
      },
    });
  });
  const dialogue: Dialogue = {
    async *run(request, options) {
      yield* (await built.get()).run(request, options);
    },
    exists: async (conversationId) => (await built.get()).exists(conversationId),
    turns: async (conversationId) => (await built.get()).turns(conversationId),
    forget: async (conversationId) => (await built.get()).forget(conversationId),
  };
  return {
    dialogue,
    async forgetQuotes(forgotten) {
      await built.get();
      return store?.forgetQuotes(forgotten) ?? 0;
    },
    async close() {
      closed = true;
      await built.started()?.catch(() => undefined);
      await store?.close();
      store = undefined;
    },
  };
}
