import type { DialogueStateValue } from './state.ts';

export interface RoutingSettings {
  /** Loop while ROBIN's dissonance is above this. */
  convergenceThreshold: number;
  /** Most BRICK⇄ROBIN rounds per run. */
  maxTurns: number;
  /** Most visits to the forge per run. */
  maxToolRequests: number;
}

export type AfterRobin = 'tool_forge' | 'brick' | 'alfred_synthesize';

/** Where the dialogue goes once ROBIN has spoken. Pure: no side effects here. */
export function routeAfterRobin(state: DialogueStateValue, settings: RoutingSettings): AfterRobin {
  if (state.toolSpec && state.toolRequests < settings.maxToolRequests) return 'tool_forge';
  const dissonance = state.dissonance ?? 0;
  if (dissonance > settings.convergenceThreshold && state.round < settings.maxTurns) return 'brick';
  return 'alfred_synthesize';
}
