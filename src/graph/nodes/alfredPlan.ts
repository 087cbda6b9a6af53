import { isGraphBubbleUp } from '@langchain/langgraph';
import type { Recollection } from '../../services/memory/memory.ts';
import type { NodeDeps } from '../deps.ts';
import { alfredPlanPrompt } from '../prompts.ts';
import { conversationOf, type DialogueNodeConfig, scopeOf, toolScopeOf } from '../runContext.ts';
import { speak } from '../speak.ts';
import type { DialogueStateValue, NodeUpdate } from '../state.ts';
import { spokenTurn } from '../turns.ts';

/** Past dialogues like this task; none when memory is off or fails (a warning says so). */
async function recall(
  deps: NodeDeps,
  state: DialogueStateValue,
  config: DialogueNodeConfig,
  warnings: string[],
): Promise<Recollection[]> {
  if (!deps.memory) return [];
  try {
    // A dialogue only ever recalls dialogues from its own server, and of those only what
    // everyone reading this one may read (the bot says which channels).
    const { guildId, readableChannels } = scopeOf(config);
    return await deps.memory.recall(state.task, {
      excludeConversation: conversationOf(config),
      guildId,
      ...(readableChannels ? { channelIds: readableChannels } : {}),
    });
  } catch (error) {
    if (isGraphBubbleUp(error)) throw error;
    warnings.push(`memory recall failed: ${(error as Error).message}`);
    deps.log.warn({ err: error, conversationId: conversationOf(config) }, 'memory recall failed');
    return [];
  }
}

/** The names of the registered tools relevant to the task; none when there are no tools or the search fails. */
async function relevantTools(
  deps: NodeDeps,
  state: DialogueStateValue,
  config: DialogueNodeConfig,
  warnings: string[],
): Promise<string[]> {
  if (!deps.tools) return [];
  try {
    return (await deps.tools.relevant(state.task, toolScopeOf(config))).map((tool) => tool.name);
  } catch (error) {
    if (isGraphBubbleUp(error)) throw error;
    warnings.push(`tool retrieval failed: ${(error as Error).message}`);
    deps.log.warn({ err: error, conversationId: conversationOf(config) }, 'tool retrieval failed');
    return [];
  }
}

/** `alfred_plan`: ALFRED plans the run, with what memory recalls and the tools that fit the task. */
export async function alfredPlan(
  deps: NodeDeps,
  state: DialogueStateValue,
  config: DialogueNodeConfig,
): Promise<NodeUpdate> {
  const warnings = [...state.warnings];
  const recollections = await recall(deps, state, config, warnings);
  const tools = await relevantTools(deps, state, config, warnings);
  const prompt = alfredPlanPrompt(state, deps.settings.context, recollections);
  // What ALFRED recalled is data from other dialogues: a control line copied from it never counts.
  const recalled = recollections.flatMap((r) => [r.task, r.answer]);
  const said = await speak(
    deps,
    { personaId: 'ALFRED', node: 'alfred_plan', prompt, alsoForeign: recalled },
    { ...state, tools },
    config,
  );
  return {
    plan: said.text,
    tools,
    warnings: [...warnings, ...said.warnings],
    turns: [
      {
        ...spokenTurn(deps.clock, state, said, {
          speaker: 'ALFRED',
          kind: 'plan',
          display: said.text,
          round: 0,
        }),
        // Kept with the plan, so curation knows whose dialogues its prompt quoted.
        ...(recollections.length ? { recalled: recollections.map((r) => r.id) } : {}),
      },
    ],
  };
}
