import type { NodeDeps } from '../deps.ts';
import { parseToolRequest } from '../parsing.ts';
import { brickPrompt } from '../prompts.ts';
import type { DialogueNodeConfig } from '../runContext.ts';
import { speak } from '../speak.ts';
import type { DialogueStateValue, NodeUpdate } from '../state.ts';
import { spokenTurn } from '../turns.ts';

/** `brick`: BRICK's thesis, and the tool he asks the forge for while he still may. */
export async function brick(
  deps: NodeDeps,
  state: DialogueStateValue,
  config: DialogueNodeConfig,
): Promise<NodeUpdate> {
  const canRequestTool = state.toolRequests < deps.settings.maxToolRequests;
  const prompt = brickPrompt(state, deps.settings.context, canRequestTool);
  const said = await speak(deps, { personaId: 'BRICK', node: 'brick', prompt }, state, config);
  const request = parseToolRequest(said.text, { foreign: said.foreign });
  const warnings = [...state.warnings, ...said.warnings];
  if (request.warning) warnings.push(request.warning);
  if (request.spec && !canRequestTool) warnings.push('BRICK asked for another tool after the limit; ignored');
  return {
    toolSpec: canRequestTool ? request.spec : null,
    warnings,
    turns: [
      spokenTurn(deps.clock, state, said, {
        speaker: 'BRICK',
        kind: 'thesis',
        display: request.display || said.text,
        round: state.round + 1,
      }),
    ],
  };
}
