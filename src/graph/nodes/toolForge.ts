import { isGraphBubbleUp } from '@langchain/langgraph';
import type { ToolForgeResult } from '../../services/tools/toolPorts.ts';
import { publicMessageOf } from '../../shared/hostDetails.ts';
import type { NodeDeps } from '../deps.ts';
import { conversationOf, type DialogueNodeConfig, requesterOf, scopeOf } from '../runContext.ts';
import type { DialogueStateValue, NodeUpdate } from '../state.ts';
import { turnOf } from '../turns.ts';

/** The forge's answer to BRICK's request; a forge that throws is a failed forge, said as such. */
async function forge(
  deps: NodeDeps,
  state: DialogueStateValue,
  config: DialogueNodeConfig,
  spec: string,
): Promise<ToolForgeResult> {
  const scope = scopeOf(config);
  try {
    return await deps.toolForge.forge(
      {
        spec,
        conversationId: conversationOf(config),
        requestedBy: 'BRICK',
        // The member whose message this run answers: the tool is theirs.
        forgedFor: requesterOf(config) ?? null,
        task: state.task,
        guildId: scope.guildId,
        // Where it was asked, for the card in the log channel.
        channelId: scope.threadId ?? scope.channelId,
        // Whose readers may see it, and which tools may be reused for it.
        placeId: scope.channelId,
        ...(scope.readableChannels ? { readableChannels: scope.readableChannels } : {}),
      },
      config.signal ? { signal: config.signal } : {},
    );
  } catch (error) {
    // A shutdown is not a failed forge: the run stops here and resumes from its checkpoint.
    if (isGraphBubbleUp(error) || config.signal?.aborted) throw error;
    deps.log.error({ err: error, conversationId: conversationOf(config) }, 'tool forge failed');
    return {
      status: 'failed',
      // Posted in the thread: the failure in words, its details (a server's address) in the log.
      message: `The tool forge failed: ${publicMessageOf(error)}`,
    };
  }
}

/** `tool_forge`: builds (or reuses) the tool BRICK asked for and offers it from his next turn on. */
export async function toolForge(
  deps: NodeDeps,
  state: DialogueStateValue,
  config: DialogueNodeConfig,
): Promise<NodeUpdate> {
  const spec = state.toolSpec ?? '';
  config.writer?.({ type: 'thinking', persona: 'TOOL_FORGE', node: 'tool_forge' });
  const result = await forge(deps, state, config, spec);
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
      turnOf(deps.clock, state, {
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
