import { AppError } from '../errors.ts';
import type { PersonaRegistry } from '../personas.ts';
import type { ChatModel, LlmProvider, ModelFor } from './chatModel.ts';
import { createOllamaEmbedder, type Embedder } from './embedder.ts';
import type { ModelCallOptions } from './modelCall.ts';
import { checkOllama, createOllamaModelFor, hasModel } from './ollamaModels.ts';
import { createOpenAIEmbedder } from './openaiEmbedder.ts';
import { checkOpenAI, createOpenAIModelFor } from './openaiModels.ts';

/**
 * Who serves each persona's model and the embeddings: Ollama, or an OpenAI-compatible server,
 * as the settings (`LLM_PROVIDER`, `EMBED_PROVIDER`) and the codex (a persona's `provider`) say.
 * The dialogue sees one `ModelFor`; only this module knows there are two kinds of server.
 */

export interface ProviderSettings {
  llmProvider: LlmProvider;
  embedProvider: LlmProvider;
  ollamaHost: string;
  openaiBaseUrl: string | undefined;
  openaiApiKey: string | undefined;
  embedModel: string;
  timeoutMs: number;
}

/** One server's answer to "are you there, and what do you have?". */
export type ProviderHealth = { provider: LlmProvider; address: string } & (
  | { ok: true; version?: string; models: string[] }
  | { ok: false; error: unknown }
);

export interface Providers {
  readonly modelFor: ModelFor;
  readonly embedder: Embedder;
  /** Who serves a persona's model now (the codex may change it). */
  of(personaId: string): LlmProvider;
  /** Every provider that serves a persona or the embeddings now, each asked once. */
  health(): Promise<ProviderHealth[]>;
  /** Whether a provider's model list has a model (Ollama's `name` means `name:latest`). */
  has(provider: LlmProvider, models: readonly string[], model: string): boolean;
  /**
   * The start-up check: each provider in use answers and has these models; throws what to fix.
   * A model with its own `provider` (a judge's) is asked of that one.
   */
  check(models: ReadonlyArray<{ persona: string; model: string; provider?: LlmProvider }>): Promise<void>;
}

export const PROVIDER_NAMES: Record<LlmProvider, string> = {
  ollama: 'Ollama',
  openai: 'the OpenAI-compatible server',
};

function notConfigured(what: string): AppError {
  const message = `${what} is served by an OpenAI-compatible server, but OPENAI_BASE_URL is not set: set it (e.g. http://127.0.0.1:8000/v1), or set provider = "ollama"`;
  // The address in it is an example, not this host's: anyone may read the advice as it is.
  return new AppError('LLM_NOT_CONFIGURED', 'user', message, { publicMessage: message });
}

export function createProviders(
  settings: ProviderSettings,
  call: Omit<ModelCallOptions, 'label' | 'call' | 'toError' | 'timeoutMs'>,
): Providers {
  const personas: () => PersonaRegistry = call.personas;
  const server =
    settings.openaiBaseUrl !== undefined
      ? { baseUrl: settings.openaiBaseUrl, apiKey: settings.openaiApiKey }
      : undefined;
  const models: Record<LlmProvider, ModelFor | undefined> = {
    ollama: createOllamaModelFor({ ...call, timeoutMs: settings.timeoutMs, host: settings.ollamaHost }),
    openai: server && createOpenAIModelFor({ ...call, timeoutMs: settings.timeoutMs, ...server }),
  };
  const of = (personaId: string) => personas().get(personaId).provider ?? settings.llmProvider;
  const modelFor: ModelFor = (personaId, overrides) => {
    const provider = overrides?.provider ?? of(personaId);
    const forProvider = models[provider];
    if (forProvider) return forProvider(personaId, overrides);
    const model = overrides?.model ?? personas().get(personaId).model;
    const refused: ChatModel = {
      model,
      invoke: async () => {
        throw notConfigured(overrides?.provider ? `the model ${model}` : personaId);
      },
    };
    return refused;
  };
  // Embeddings wait in the chats' queue: while a fine-tune has the GPU, they wait too.
  const embedding = {
    model: settings.embedModel,
    timeoutMs: settings.timeoutMs,
    ...(call.limiter ? { limiter: call.limiter } : {}),
  };
  const embedder =
    settings.embedProvider === 'openai' && server
      ? createOpenAIEmbedder({ ...server, ...embedding })
      : createOllamaEmbedder({ host: settings.ollamaHost, ...embedding });
  const inUse = (): LlmProvider[] => [
    ...new Set<LlmProvider>([
      settings.embedProvider,
      ...personas()
        .list()
        .map((p) => of(p.id)),
    ]),
  ];
  const address = (provider: LlmProvider) =>
    provider === 'ollama' ? settings.ollamaHost : (settings.openaiBaseUrl ?? '(OPENAI_BASE_URL not set)');
  const ask = async (provider: LlmProvider, wanted: readonly string[]) => {
    if (provider === 'ollama') return checkOllama(settings.ollamaHost, wanted);
    if (!server) throw notConfigured('a persona');
    return checkOpenAI(server, wanted);
  };
  return {
    modelFor,
    embedder,
    of,
    has: (provider, list, model) => (provider === 'ollama' ? hasModel(list, model) : list.includes(model)),
    async health() {
      return Promise.all(
        inUse().map(async (provider): Promise<ProviderHealth> => {
          try {
            return { provider, address: address(provider), ok: true, ...(await ask(provider, [])) };
          } catch (error) {
            return { provider, address: address(provider), ok: false, error };
          }
        }),
      );
    },
    async check(wanted) {
      const servedBy = (w: (typeof wanted)[number]) => w.provider ?? of(w.persona);
      for (const provider of new Set([...inUse(), ...wanted.map(servedBy)])) {
        await ask(provider, [...wanted.filter((w) => servedBy(w) === provider).map((w) => w.model)]);
      }
    },
  };
}
