import { truncate } from '../shared/text.ts';
import type { ToolCallRecord } from './state.ts';

// Apart from dialogue.ts so that showing a tool call does not load LangGraph: the bot and the
// terminal chat load the graph only when the first dialogue runs.

/** One line for a tool call, for people: `name({input}) → result` or `name({input}) failed: why`. */
export function describeToolCall(call: ToolCallRecord, max = 300): string {
  const input = truncate(JSON.stringify(call.input) ?? 'null', Math.floor(max / 2));
  return call.ok
    ? `${call.tool}(${input}) → ${truncate(call.output ?? 'null', max)}`
    : `${call.tool}(${input}) failed: ${truncate(call.error ?? 'unknown error', max)}`;
}
