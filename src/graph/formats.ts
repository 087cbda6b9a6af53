import { parseDissonance, parseToolCall, parseToolRequest } from './parsing.ts';

/**
 * Whether an answer keeps the output format its persona must use in the dialogue: ROBIN's
 * closing `DISSONANCE: <0–1>` line, and BRICK's `TOOL_REQUIRED:` / `TOOL_CALL:` lines well formed
 * when he writes them. A fine-tuned model that loses these is not promoted, however it talks.
 */
export function keepsFormat(personaId: string, text: string): boolean {
  if (!text.trim()) return false;
  if (personaId === 'ROBIN') return parseDissonance(text, { fallback: 0.5 }).warning === undefined;
  if (personaId === 'BRICK') return !parseToolCall(text).error && !parseToolRequest(text).warning;
  return true;
}
