import type { Clock } from '../services/clock.ts';
import type { Spoken } from './speak.ts';
import type { DialogueStateValue, Turn } from './state.ts';

/** A turn of the current run, stamped now. */
export function turnOf(clock: Clock, state: DialogueStateValue, fields: Omit<Turn, 'run' | 'at'>): Turn {
  return { ...fields, run: state.run, at: clock.now() };
}

/** A persona's turn from what it said: its words, model, prompt and tool calls. */
export function spokenTurn(
  clock: Clock,
  state: DialogueStateValue,
  said: Spoken,
  fields: Pick<Turn, 'speaker' | 'kind' | 'display' | 'round' | 'dissonance'>,
): Turn {
  return turnOf(clock, state, {
    ...fields,
    content: said.text,
    model: said.model.model,
    system: said.system,
    prompt: said.prompt,
    // What the persona really saw and said, for the curation loop's samples.
    ...(said.exchange.length
      ? {
          exchange: said.exchange.map((m) => ({
            role: m.role === 'user' ? 'user' : 'assistant',
            content: m.content,
          })),
        }
      : {}),
    ...(said.toolCalls.length ? { toolCalls: said.toolCalls } : {}),
  });
}
