import { type ContextLimits, DEFAULT_CONTEXT_LIMITS } from './context.ts';
import type { RoutingSettings } from './routing.ts';

export interface DialogueSettings extends RoutingSettings {
  /** A final dissonance above this publishes `high_cognitive_dissonance`. */
  highDissonance: number;
  /** Used when ROBIN gives no readable score. Default 0.5. */
  defaultDissonance: number;
  /** Most tool calls one persona may make in one turn. */
  maxToolCallsPerTurn: number;
  /** Most characters of a tool's result shown to the persona. */
  toolResultChars: number;
  context: ContextLimits;
}

export const DEFAULT_DIALOGUE_SETTINGS: DialogueSettings = {
  convergenceThreshold: 0.3,
  maxTurns: 3,
  maxToolRequests: 2,
  highDissonance: 0.8,
  defaultDissonance: 0.5,
  maxToolCallsPerTurn: 2,
  toolResultChars: 4000,
  context: DEFAULT_CONTEXT_LIMITS,
};

/** Enough LangGraph steps for the longest legal run (plan, rounds, forge visits, synthesis). */
export function recursionLimitFor(settings: Pick<RoutingSettings, 'maxTurns' | 'maxToolRequests'>): number {
  return 2 + 2 * (settings.maxTurns + settings.maxToolRequests) + settings.maxToolRequests + 5;
}
