import { latestTurn } from '../context.ts';
import type { NodeDeps } from '../deps.ts';
import { alfredSynthesisPrompt } from '../prompts.ts';
import type { DialogueNodeConfig } from '../runContext.ts';
import { speak } from '../speak.ts';
import type { DialogueStateValue, NodeUpdate } from '../state.ts';
import { spokenTurn } from '../turns.ts';

/** `alfred_synthesize`: ALFRED's answer, from BRICK's latest thesis and ROBIN's latest antithesis. */
export async function alfredSynthesize(
  deps: NodeDeps,
  state: DialogueStateValue,
  config: DialogueNodeConfig,
): Promise<NodeUpdate> {
  const thesis = latestTurn(state.turns, state.run, 'BRICK');
  const antithesis = latestTurn(state.turns, state.run, 'ROBIN');
  const prompt = alfredSynthesisPrompt(state, deps.settings.context, thesis, antithesis);
  const said = await speak(deps, { personaId: 'ALFRED', node: 'alfred_synthesize', prompt }, state, config);
  return {
    answer: said.text,
    ...(said.warnings.length ? { warnings: [...state.warnings, ...said.warnings] } : {}),
    turns: [
      spokenTurn(deps.clock, state, said, {
        speaker: 'ALFRED',
        kind: 'answer',
        display: said.text,
        round: state.round,
      }),
    ],
  };
}
