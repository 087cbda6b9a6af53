import { END, START, StateGraph } from '@langchain/langgraph';
import { type DialogueGraphDeps, type NodeDeps, nodeDepsFrom } from './deps.ts';
import { alfredPlan } from './nodes/alfredPlan.ts';
import { alfredSynthesize } from './nodes/alfredSynthesize.ts';
import { brick } from './nodes/brick.ts';
import { robin } from './nodes/robin.ts';
import { toolForge } from './nodes/toolForge.ts';
import { routeAfterRobin } from './routing.ts';
import { DialogueContext, type DialogueNodeConfig } from './runContext.ts';
import { DialogueState, type DialogueStateValue, type NodeUpdate } from './state.ts';

type Node = (deps: NodeDeps, state: DialogueStateValue, config: DialogueNodeConfig) => Promise<NodeUpdate>;

/** A node as LangGraph calls it, its dependencies bound. */
const bind =
  (deps: NodeDeps, node: Node) =>
  (state: DialogueStateValue, config: DialogueNodeConfig): Promise<NodeUpdate> =>
    node(deps, state, config);

/** Builds and compiles the Socratic dialogue: ALFRED → BRICK ⇄ ROBIN (→ forge) → ALFRED. */
export function buildDialogueGraph(deps: DialogueGraphDeps) {
  const nodeDeps = nodeDepsFrom(deps);
  return new StateGraph(DialogueState, { context: DialogueContext })
    .addNode('alfred_plan', bind(nodeDeps, alfredPlan))
    .addNode('brick', bind(nodeDeps, brick))
    .addNode('robin', bind(nodeDeps, robin))
    .addNode('tool_forge', bind(nodeDeps, toolForge))
    .addNode('alfred_synthesize', bind(nodeDeps, alfredSynthesize))
    .addEdge(START, 'alfred_plan')
    .addEdge('alfred_plan', 'brick')
    .addEdge('brick', 'robin')
    .addConditionalEdges('robin', (state) => routeAfterRobin(state, nodeDeps.settings), [
      'tool_forge',
      'brick',
      'alfred_synthesize',
    ])
    .addEdge('tool_forge', 'brick')
    .addEdge('alfred_synthesize', END)
    .compile({ checkpointer: deps.checkpointer });
}

export type DialogueGraph = ReturnType<typeof buildDialogueGraph>;
