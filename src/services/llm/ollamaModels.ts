import type { ChatOllamaInput } from '@langchain/ollama';
import { Ollama } from 'ollama';
import { createLazy } from '../../shared/lazy.ts';
import { AppError } from '../errors.ts';
import type { Persona } from '../personas.ts';
import { contentToText, type ModelFor } from './chatModel.ts';
import { deadlineSignal } from './deadline.ts';
import { collectStream, createModelFor, type ModelCallOptions } from './modelCall.ts';
import { modelMissingError, toOllamaError, unreachableError } from './ollamaErrors.ts';

export type OllamaModelsOptions = Omit<ModelCallOptions, 'label' | 'call' | 'toError' | 'serversOf'> & {
  /** `OLLAMA_HOST`: the server of a persona that lists no `hosts`. */
  host: string;
  /** The servers of a persona (its `hosts`); default: `host` alone. */
  serversOf?: ModelCallOptions['serversOf'];
};

/**
 * A fetch whose every request also ends at the deadline or when the caller cancels. Each
 * call gets its own client, so a timeout in one dialogue never aborts another's request.
 */
function fetchWithDeadline(timeoutMs: number): typeof fetch {
  // The deadline also covers reading a streamed body, so it is not cleared when headers arrive;
  // its timer lapses harmlessly after the request is done (it holds no caller's signal).
  return (input, init) => fetch(input, { ...init, signal: deadlineSignal(timeoutMs, init?.signal).signal });
}

function chatOllamaFields(persona: Persona): ChatOllamaInput {
  const o = persona.options;
  const fields: ChatOllamaInput = { model: persona.model, temperature: persona.temperature };
  if (o.num_ctx !== undefined) fields.numCtx = o.num_ctx;
  if (o.num_predict !== undefined) fields.numPredict = o.num_predict;
  if (o.top_k !== undefined) fields.topK = o.top_k;
  if (o.top_p !== undefined) fields.topP = o.top_p;
  if (o.repeat_penalty !== undefined) fields.repeatPenalty = o.repeat_penalty;
  if (o.repeat_last_n !== undefined) fields.repeatLastN = o.repeat_last_n;
  if (o.presence_penalty !== undefined) fields.presencePenalty = o.presence_penalty;
  if (o.frequency_penalty !== undefined) fields.frequencyPenalty = o.frequency_penalty;
  if (o.seed !== undefined) fields.seed = o.seed;
  return fields;
}

/** The persona models, served by Ollama through `@langchain/ollama`. */
export function createOllamaModelFor(options: OllamaModelsOptions): ModelFor {
  // LangChain loads with the first model call, not with the bot: an idle bot never needs it.
  const langchain = createLazy(() => import('@langchain/ollama'));
  return createModelFor({
    ...options,
    serversOf: options.serversOf ?? (() => [options.host]),
    label: 'Ollama',
    async call(persona, messages, call) {
      const { ChatOllama } = await langchain.get();
      // A client per call: a deadline ends this request only, never another dialogue's.
      const chat = new ChatOllama({
        ...chatOllamaFields(persona),
        baseUrl: call.server,
        fetch: (input, init) => fetch(input, { ...init, signal: call.signal }),
      });
      const input = messages.map((m) => ({ role: m.role, content: m.content }));
      const settings = { signal: call.signal, ...(call.format ? { format: call.format } : {}) };
      if (!call.onToken) return contentToText((await chat.invoke(input, settings)).content);
      return collectStream(await chat.stream(input, settings), call.onToken);
    },
    toError: (error, model, host) => toOllamaError(error, { host, model, timeoutMs: options.timeoutMs }),
  });
}

export interface OllamaHealth {
  version: string;
  /** Every model Ollama has, by full name (`name:tag`). */
  models: string[];
}

/** Whether `wanted` (`name` or `name:tag`) is among Ollama's models. */
export function hasModel(available: readonly string[], wanted: string): boolean {
  const full = wanted.includes(':') ? wanted : `${wanted}:latest`;
  return available.some((name) => name === wanted || name === full);
}

/**
 * Checks that Ollama answers and that every model is pulled; throws the same clear errors
 * a dialogue would, before the person has typed anything.
 */
export async function checkOllama(
  host: string,
  models: readonly string[],
  timeoutMs = 10_000,
): Promise<OllamaHealth> {
  const client = new Ollama({ host, fetch: fetchWithDeadline(timeoutMs) });
  let health: OllamaHealth;
  try {
    const [{ version }, { models: list }] = await Promise.all([client.version(), client.list()]);
    health = { version, models: list.map((m) => m.name) };
  } catch (error) {
    const converted = toOllamaError(error, { host, model: models[0] ?? '', timeoutMs });
    throw converted instanceof Error && (converted as { code?: string }).code === 'OLLAMA_ERROR'
      ? unreachableError(host, error)
      : converted;
  }
  const missing = [...new Set(models)].filter((model) => !hasModel(health.models, model));
  const first = missing[0];
  if (first) {
    const error = modelMissingError(first);
    if (missing.length > 1)
      error.message = `models are not pulled: ${missing.map((m) => `\`ollama pull ${m}\``).join(', ')}`;
    throw error;
  }
  return health;
}

/** How far a pull is, as Ollama reports it: a status, and bytes for a layer being fetched. */
export interface PullProgress {
  status: string;
  total?: number | undefined;
  completed?: number | undefined;
}

/**
 * Pulls a model into Ollama from its library, reporting the progress as it comes. No deadline: a
 * first pull is gigabytes. Throws what to fix: Ollama unreachable, or the reason it gave (a name
 * its library lacks, a full disk).
 */
export async function pullOllamaModel(
  host: string,
  model: string,
  onProgress: (progress: PullProgress) => void,
): Promise<void> {
  const client = new Ollama({ host });
  let stream: AsyncIterable<PullProgress>;
  try {
    stream = await client.pull({ model, stream: true });
  } catch (error) {
    throw pullError(host, model, error);
  }
  try {
    for await (const progress of stream) onProgress(progress);
  } catch (error) {
    throw pullError(host, model, error);
  }
}

function pullError(host: string, model: string, error: unknown): unknown {
  const converted = toOllamaError(error, { host, model, timeoutMs: 0 });
  if ((converted as { code?: string }).code === 'OLLAMA_UNREACHABLE') return converted;
  const reason = error instanceof Error ? error.message : String(error);
  return new AppError('OLLAMA_PULL_FAILED', 'user', `Ollama could not pull ${model}: ${reason}`, {
    cause: error,
  });
}
