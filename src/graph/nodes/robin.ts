import { latestTurn } from '../context.ts';
import type { NodeDeps } from '../deps.ts';
import { parseDissonance } from '../parsing.ts';
import { robinPrompt } from '../prompts.ts';
import { conversationOf, type DialogueNodeConfig } from '../runContext.ts';
import { speak } from '../speak.ts';
import type { DialogueStateValue, NodeUpdate } from '../state.ts';
import { spokenTurn } from '../turns.ts';

/** `robin`: ROBIN's antithesis to BRICK's latest thesis, and the dissonance she reads between them. */
export async function robin(
  deps: NodeDeps,
  state: DialogueStateValue,
  config: DialogueNodeConfig,
): Promise<NodeUpdate> {
  const thesis = latestTurn(state.turns, state.run, 'BRICK');
  const prompt = robinPrompt(state, deps.settings.context, thesis);
  const said = await speak(deps, { personaId: 'ROBIN', node: 'robin', prompt }, state, config);
  const reading = parseDissonance(said.text, {
    fallback: deps.settings.defaultDissonance,
    foreign: said.foreign,
  });
  const warnings = [...state.warnings, ...said.warnings];
  if (reading.warning) {
    warnings.push(reading.warning);
    deps.log.warn({ conversationId: conversationOf(config), persona: 'ROBIN' }, reading.warning);
  }
  const round = state.round + 1;
  return {
    round,
    dissonance: reading.value,
    trajectory: [...state.trajectory, reading.value],
    warnings,
    turns: [
      spokenTurn(deps.clock, state, said, {
        speaker: 'ROBIN',
        kind: 'antithesis',
        display: reading.display || said.text,
        round,
        dissonance: reading.value,
      }),
    ],
  };
}
