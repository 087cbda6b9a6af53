import type { PersonaRegistry } from '../personas.ts';
import type { LlmProvider } from './chatModel.ts';
import { serverKey } from './limiter.ts';
import { checkOllama } from './ollamaModels.ts';
import { checkOpenAI, notConfigured } from './openaiModels.ts';

/**
 * Which model servers serve whom: a persona's `hosts` in the codex, else its provider's one server
 * (`OLLAMA_HOST`, `OPENAI_BASE_URL`); and the questions asked of every server in use (`/status`'s
 * health, the start-up check).
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

/** One server's answer to "are you there, and what do you have?" (each server in use answers). */
export type ProviderHealth = { provider: LlmProvider; address: string } & (
  | { ok: true; version?: string; models: string[] }
  | { ok: false; error: unknown }
);

export interface ServerDeps {
  settings: ProviderSettings;
  personas: () => PersonaRegistry;
  /** Who serves a persona's model now. */
  of: (personaId: string) => LlmProvider;
}

/** One model server: its kind, and its base URL (none: `OPENAI_BASE_URL` is not set). */
interface Server {
  provider: LlmProvider;
  address: string | undefined;
}

const keyOf = (server: Server) =>
  `${server.provider} ${server.address === undefined ? '' : serverKey(server.address)}`;

/** A provider's own server: `OLLAMA_HOST`, or `OPENAI_BASE_URL` (none when it is not set). */
function homeOf(settings: ProviderSettings, provider: LlmProvider): string | undefined {
  return provider === 'ollama' ? settings.ollamaHost : settings.openaiBaseUrl;
}

/**
 * The servers a provider answers a persona on: the persona's `hosts` where the provider is the
 * persona's own (a judge's model asked of the other kind of server goes to that one's server),
 * else the provider's one; none for an OpenAI-compatible server that is not set.
 */
export function addressesOf(deps: ServerDeps, provider: LlmProvider, personaId: string): readonly string[] {
  const hosts = deps.of(personaId) === provider ? deps.personas().get(personaId).hosts : undefined;
  if (hosts?.length) return hosts;
  const home = homeOf(deps.settings, provider);
  return home === undefined ? [] : [home];
}

/** A persona's servers of one provider; an unset `OPENAI_BASE_URL` counts as one, to be reported. */
function serversFor(deps: ServerDeps, provider: LlmProvider, personaId: string): Server[] {
  const addresses = addressesOf(deps, provider, personaId);
  return addresses.length
    ? addresses.map((address) => ({ provider, address }))
    : [{ provider, address: undefined }];
}

/** Every server in use now, each once: the embeddings', then each persona's. */
function serversInUse(deps: ServerDeps): Server[] {
  const servers = new Map<string, Server>();
  const add = (server: Server) => servers.set(keyOf(server), servers.get(keyOf(server)) ?? server);
  add({ provider: deps.settings.embedProvider, address: homeOf(deps.settings, deps.settings.embedProvider) });
  for (const persona of deps.personas().list()) {
    for (const server of serversFor(deps, deps.of(persona.id), persona.id)) add(server);
  }
  return [...servers.values()];
}

/** Asks one server whether it answers and has `wanted`; throws what to fix. */
async function ask(settings: ProviderSettings, server: Server, wanted: readonly string[]) {
  if (server.address === undefined) throw notConfigured('a persona');
  if (server.provider === 'ollama') return checkOllama(server.address, wanted);
  return checkOpenAI({ baseUrl: server.address, apiKey: settings.openaiApiKey }, wanted);
}

/** Every server in use, asked at once. */
export function healthOfServers(deps: ServerDeps): Promise<ProviderHealth[]> {
  return Promise.all(
    serversInUse(deps).map(async (server): Promise<ProviderHealth> => {
      const shown = { provider: server.provider, address: server.address ?? '(OPENAI_BASE_URL not set)' };
      try {
        return { ...shown, ok: true, ...(await ask(deps.settings, server, [])) };
      } catch (error) {
        return { ...shown, ok: false, error };
      }
    }),
  );
}

/**
 * The start-up check: every server in use answers, and each has the models it may be asked for
 * (every one of a persona's `hosts` the persona's model). A model with its own `provider` (a
 * judge's) is asked of that provider's servers. Throws the first problem found.
 */
export async function checkServers(
  deps: ServerDeps,
  wanted: ReadonlyArray<{ persona: string; model: string; provider?: LlmProvider }>,
): Promise<void> {
  const asked = new Map<string, { server: Server; models: string[] }>();
  const want = (server: Server, model?: string) => {
    const entry = asked.get(keyOf(server)) ?? { server, models: [] };
    asked.set(keyOf(server), entry);
    if (model !== undefined) entry.models.push(model);
  };
  for (const server of serversInUse(deps)) want(server);
  for (const w of wanted) {
    for (const server of serversFor(deps, w.provider ?? deps.of(w.persona), w.persona)) want(server, w.model);
  }
  for (const { server, models } of asked.values()) await ask(deps.settings, server, models);
}
