import { withoutHostDetails } from '../../shared/hostDetails.ts';
import { createLazy } from '../../shared/lazy.ts';
import { AppError } from '../errors.ts';
import type { Persona } from '../personas.ts';
import { contentToText, type ModelFor } from './chatModel.ts';
import { deadlineSignal } from './deadline.ts';
import { collectStream, createModelFor, type ModelCallOptions } from './modelCall.ts';

/**
 * Persona models served by any OpenAI-compatible server (vLLM, llama.cpp's server, LM Studio,
 * LiteLLM, a hosted API) through `@langchain/openai`: `LLM_PROVIDER=openai`, or a persona's
 * `provider = "openai"` in the codex. Deadlines, retries, structured output and error messages
 * work as with Ollama.
 */

export interface OpenAIServer {
  /** `OPENAI_BASE_URL`, with its `/v1`. */
  baseUrl: string;
  /** `OPENAI_API_KEY`; servers that need none accept any. */
  apiKey: string | undefined;
}

export type OpenAIModelsOptions = Omit<ModelCallOptions, 'label' | 'call' | 'toError' | 'serversOf'> & {
  /** `OPENAI_BASE_URL`: the server of a persona that lists no `hosts` (unset: it has none). */
  baseUrl: string | undefined;
  apiKey: OpenAIServer['apiKey'];
  /** The servers of a persona (its `hosts`, each with its `/v1`); default: `baseUrl` alone. */
  serversOf?: ModelCallOptions['serversOf'];
};

const NETWORK = /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ECONNRESET|EAI_AGAIN|fetch failed|Connection error/i;

/** What an OpenAI-compatible server (or the client on its way there) threw, in words that say what to do. */
export function toOpenAIError(
  error: unknown,
  context: {
    baseUrl: string;
    model: string;
    timeoutMs: number;
    /** Where the model's name is set (default: the persona's model in codex.toml). */
    setting?: string;
  },
): unknown {
  if (error instanceof AppError) return error;
  const name = (error as { name?: unknown })?.name;
  const message = error instanceof Error ? error.message : String(error);
  const status = (error as { status?: unknown })?.status;
  const cause = { cause: error };
  // A public reply names "the model server", not where it is (the message keeps that for the log).
  const server = 'the OpenAI-compatible server';
  if (name === 'TimeoutError' || /timed? ?out/i.test(message)) {
    return new AppError(
      'LLM_TIMEOUT',
      'operational',
      `model ${context.model} did not answer within ${Math.round(context.timeoutMs / 1000)} s (raise OLLAMA_TIMEOUT_MS if it is just slow)`,
      cause,
    );
  }
  if (name === 'AbortError' || name === 'APIUserAbortError') return error;
  if (status === 401 || status === 403) {
    return new AppError(
      'LLM_AUTH',
      'user',
      `the server at ${context.baseUrl} refused OPENAI_API_KEY (${status}): set a key it accepts`,
      { ...cause, publicMessage: `${server} refused OPENAI_API_KEY (${status}): set a key it accepts` },
    );
  }
  if (status === 404 || /model.*(does not exist|not found)/i.test(message)) {
    return new AppError(
      'LLM_MODEL_MISSING',
      'user',
      `the server at ${context.baseUrl} has no model ${context.model}: check ${context.setting ?? "the persona's model in codex.toml"} against its /v1/models`,
      {
        ...cause,
        publicMessage: `${server} has no model ${context.model}: check ${context.setting ?? "the persona's model in codex.toml"} against its /v1/models`,
      },
    );
  }
  if (status === 429) {
    return new AppError(
      'LLM_BUSY',
      'operational',
      `the server at ${context.baseUrl} is busy (429): try again shortly`,
      { ...cause, retryable: true, publicMessage: `${server} is busy (429): try again shortly` },
    );
  }
  if (
    status === undefined &&
    NETWORK.test(`${message} ${String((error as { cause?: unknown }).cause ?? '')}`)
  ) {
    return new AppError(
      'LLM_UNREACHABLE',
      'operational',
      `cannot reach the OpenAI-compatible server at ${context.baseUrl}: start it, or set OPENAI_BASE_URL`,
      {
        ...cause,
        retryable: true,
        publicMessage: `cannot reach ${server}: start it, or set OPENAI_BASE_URL (the address tried is in the bot's log)`,
      },
    );
  }
  return new AppError(
    'LLM_ERROR',
    'operational',
    `the server at ${context.baseUrl} failed on model ${context.model}: ${message}`,
    {
      ...cause,
      retryable: typeof status === 'number' ? status >= 500 : true,
      publicMessage: `${server} failed on model ${context.model}: ${withoutHostDetails(message)}`,
    },
  );
}

/** What a persona (or a model) served by an OpenAI-compatible server says when none is set. */
export function notConfigured(what: string): AppError {
  const message = `${what} is served by an OpenAI-compatible server, but OPENAI_BASE_URL is not set: set it (e.g. http://127.0.0.1:8000/v1), or set provider = "ollama"`;
  // The address in it is an example, not this host's: anyone may read the advice as it is.
  return new AppError('LLM_NOT_CONFIGURED', 'user', message, { publicMessage: message });
}

function chatOpenAIFields(persona: Persona) {
  const o = persona.options;
  return {
    model: persona.model,
    temperature: persona.temperature,
    ...(o.num_predict !== undefined && o.num_predict > 0 ? { maxTokens: o.num_predict } : {}),
    ...(o.top_p !== undefined ? { topP: o.top_p } : {}),
    ...(o.presence_penalty !== undefined ? { presencePenalty: o.presence_penalty } : {}),
    ...(o.frequency_penalty !== undefined ? { frequencyPenalty: o.frequency_penalty } : {}),
  };
}

export function createOpenAIModelFor(options: OpenAIModelsOptions): ModelFor {
  // LangChain's OpenAI client loads with the first call that needs it.
  const langchain = createLazy(() => import('@langchain/openai'));
  return createModelFor({
    ...options,
    serversOf: options.serversOf ?? (() => (options.baseUrl === undefined ? [] : [options.baseUrl])),
    label: 'The OpenAI-compatible server',
    async call(persona, messages, call) {
      // No server at all (the codex lost the persona's `hosts` since): never the client's default, OpenAI's own API.
      if (!call.server) throw notConfigured(persona.id);
      const { ChatOpenAI } = await langchain.get();
      // A client per call, its own fetch: a deadline ends this request only. Retries are ours.
      const chat = new ChatOpenAI({
        ...chatOpenAIFields(persona),
        apiKey: options.apiKey ?? 'not-needed',
        maxRetries: 0,
        ...(persona.options.seed !== undefined ? { modelKwargs: { seed: persona.options.seed } } : {}),
        configuration: {
          baseURL: call.server,
          fetch: (input: string | URL | Request, init?: RequestInit) =>
            fetch(input, { ...init, signal: call.signal }),
        },
      });
      const format = call.format;
      const settings = {
        signal: call.signal,
        ...(format === 'json'
          ? { response_format: { type: 'json_object' as const } }
          : format
            ? {
                response_format: {
                  type: 'json_schema' as const,
                  json_schema: { name: 'answer', schema: format },
                },
              }
            : {}),
      };
      const input = messages.map((m) => ({ role: m.role, content: m.content }));
      if (!call.onToken) return contentToText((await chat.invoke(input, settings)).content);
      return collectStream(await chat.stream(input, settings), call.onToken);
    },
    toError: (error, model, baseUrl) =>
      toOpenAIError(error, { baseUrl, model, timeoutMs: options.timeoutMs }),
  });
}

/** Checks that the server answers and has every model (`GET /models`), as `checkOllama` does. */
export async function checkOpenAI(
  server: OpenAIServer,
  models: readonly string[],
  timeoutMs = 10_000,
): Promise<{ models: string[] }> {
  const deadline = deadlineSignal(timeoutMs);
  let listed: string[];
  try {
    const response = await fetch(`${server.baseUrl}/models`, {
      headers: server.apiKey ? { Authorization: `Bearer ${server.apiKey}` } : {},
      signal: deadline.signal,
    });
    if (!response.ok) throw Object.assign(new Error(`HTTP ${response.status}`), { status: response.status });
    listed = ((await response.json()) as { data?: Array<{ id: string }> }).data?.map((m) => m.id) ?? [];
  } catch (error) {
    throw toOpenAIError(error, { baseUrl: server.baseUrl, model: models[0] ?? '', timeoutMs });
  } finally {
    deadline.clear();
  }
  const missing = [...new Set(models)].filter((model) => !listed.includes(model));
  if (missing.length) {
    throw new AppError(
      'LLM_MODEL_MISSING',
      'user',
      `the server at ${server.baseUrl} has no model ${missing.join(', ')}: check the personas' models in codex.toml against its /v1/models`,
      {
        publicMessage: `the OpenAI-compatible server has no model ${missing.join(', ')}: check the personas' models in codex.toml against its /v1/models`,
      },
    );
  }
  return { models: listed };
}
