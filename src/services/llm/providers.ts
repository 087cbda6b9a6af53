import type { PersonaRegistry } from '../personas.ts';
import type { ChatModel, LlmProvider, ModelFor } from './chatModel.ts';
import { createOllamaEmbedder, type Embedder } from './embedder.ts';
import type { ModelCallOptions } from './modelCall.ts';
import {
  addressesOf,
  checkServers,
  healthOfServers,
  type ProviderHealth,
  type ProviderSettings,
  type ServerDeps,
} from './modelServers.ts';
import { createOllamaModelFor, hasModel } from './ollamaModels.ts';
import { createOpenAIEmbedder } from './openaiEmbedder.ts';
import { createOpenAIModelFor, notConfigured } from './openaiModels.ts';

/**
 * Who serves each persona's model and the embeddings: Ollama, or an OpenAI-compatible server,
 * as the settings (`LLM_PROVIDER`, `EMBED_PROVIDER`) and the codex (a persona's `provider`) say.
 * The dialogue sees one `ModelFor`; only this module knows there are two kinds of server.
 */

export type { ProviderHealth, ProviderSettings } from './modelServers.ts';

export interface Providers {
  readonly modelFor: ModelFor;
  readonly embedder: Embedder;
  /** Who serves a persona's model now (the codex may change it). */
  of(personaId: string): LlmProvider;
  /** Every server that serves a persona or the embeddings now (a persona's `hosts` each), each asked once. */
  health(): Promise<ProviderHealth[]>;
  /** Whether a provider's model list has a model (Ollama's `name` means `name:latest`). */
  has(provider: LlmProvider, models: readonly string[], model: string): boolean;
  /**
   * The start-up check: each server in use answers and has these models (every one of a persona's
   * `hosts` its model); throws what to fix. A model with its own `provider` (a judge's) is asked of
   * that one.
   */
  check(models: ReadonlyArray<{ persona: string; model: string; provider?: LlmProvider }>): Promise<void>;
}

export const PROVIDER_NAMES: Record<LlmProvider, string> = {
  ollama: 'Ollama',
  openai: 'the OpenAI-compatible server',
};

export function createProviders(
  settings: ProviderSettings,
  call: Omit<ModelCallOptions, 'label' | 'call' | 'toError' | 'timeoutMs' | 'serversOf'>,
): Providers {
  const personas: () => PersonaRegistry = call.personas;
  const of = (personaId: string) => personas().get(personaId).provider ?? settings.llmProvider;
  const servers: ServerDeps = { settings, personas, of };
  const models: Record<LlmProvider, ModelFor> = {
    ollama: createOllamaModelFor({
      ...call,
      timeoutMs: settings.timeoutMs,
      host: settings.ollamaHost,
      serversOf: (personaId) => addressesOf(servers, 'ollama', personaId),
    }),
    openai: createOpenAIModelFor({
      ...call,
      timeoutMs: settings.timeoutMs,
      baseUrl: settings.openaiBaseUrl,
      apiKey: settings.openaiApiKey,
      serversOf: (personaId) => addressesOf(servers, 'openai', personaId),
    }),
  };
  const modelFor: ModelFor = (personaId, overrides) => {
    const provider = overrides?.provider ?? of(personaId);
    if (addressesOf(servers, provider, personaId).length > 0) return models[provider](personaId, overrides);
    const model = overrides?.model ?? personas().get(personaId).model;
    const refused: ChatModel = {
      model,
      invoke: async () => {
        throw notConfigured(overrides?.provider ? `the model ${model}` : personaId);
      },
    };
    return refused;
  };
  // Embeddings wait in their server's queue with its chats: while a fine-tune has the GPU, they wait too.
  const embedding = {
    model: settings.embedModel,
    timeoutMs: settings.timeoutMs,
    ...(call.limiter ? { limiter: call.limiter } : {}),
  };
  const embedder =
    settings.embedProvider === 'openai' && settings.openaiBaseUrl !== undefined
      ? createOpenAIEmbedder({ baseUrl: settings.openaiBaseUrl, apiKey: settings.openaiApiKey, ...embedding })
      : createOllamaEmbedder({ host: settings.ollamaHost, ...embedding });
  return {
    modelFor,
    embedder,
    of,
    has: (provider, list, model) => (provider === 'ollama' ? hasModel(list, model) : list.includes(model)),
    health: () => healthOfServers(servers),
    check: (wanted) => checkServers(servers, wanted),
  };
}
