import type { LlmProvider } from '../llm/chatModel.ts';
import type { FinetuneRuntime } from './fineTunerDeps.ts';
import type { ModelVersion } from './finetuneStore.ts';
import type { ModelRegistrar } from './registrar.ts';

/**
 * The servers' side of the versions: which servers serve a persona (each of its `hosts`, else its
 * provider's own) with their registrars, and what follows a move of the pointer on a server that
 * keeps only what it is told to (vLLM's runtime adapters): the version left is unloaded from each
 * of its servers, the version entered is loaded again on each if the server forgot it (a
 * restart). Ollama keeps every version, so nothing follows there. These run after the pointer
 * moved and are logged, never thrown: the swap itself is the one write.
 */

/** How people call each kind of server, at the start of a sentence. */
export const SERVER_NAMES: Record<LlmProvider, string> = {
  ollama: 'Ollama',
  openai: 'The OpenAI-compatible server',
};

/** One server a persona's versions go to: its base URL (none: the provider's own, as configured) and its registrar. */
export interface ModelServer {
  address?: string;
  registrar: ModelRegistrar;
}

type RegistrarDeps = Pick<FinetuneRuntime, 'registrars'> & Partial<Pick<FinetuneRuntime, 'registrarAt'>>;

/** The servers at these addresses (undefined: the provider's own), each registrar once; none where nothing can register. */
function serversAt(
  deps: RegistrarDeps,
  provider: LlmProvider,
  addresses: ReadonlyArray<string | undefined>,
): ModelServer[] {
  const servers = new Map<ModelRegistrar, ModelServer>();
  for (const address of addresses) {
    const registrar =
      address === undefined ? deps.registrars[provider] : deps.registrarAt?.(provider, address);
    if (registrar && !servers.has(registrar))
      servers.set(registrar, address === undefined ? { registrar } : { address, registrar });
  }
  return [...servers.values()];
}

/**
 * The servers of a persona now, and their kind: each of its `hosts` in the codex, else its
 * provider's own server; none where that is not configured (an unset `OPENAI_BASE_URL`).
 */
export function serversOf(
  deps: Pick<FinetuneRuntime, 'registrars' | 'registrarAt' | 'providerOf' | 'personas'>,
  persona: string,
): { provider: LlmProvider; servers: ModelServer[] } {
  const provider = deps.providerOf?.(persona) ?? 'ollama';
  const hosts = deps.personas().get(persona).hosts;
  return { provider, servers: serversAt(deps, provider, hosts?.length ? hosts : [undefined]) };
}

/**
 * What following the pointer needs: the servers' registrars and, where given, the personas and
 * who serves them now (the codex may have changed a persona's `hosts` since a version was
 * registered).
 */
type ServingDeps = Pick<FinetuneRuntime, 'registrars' | 'store' | 'log'> &
  Partial<Pick<FinetuneRuntime, 'registrarAt' | 'personas' | 'providerOf'>>;

/**
 * Where a version is served. `now`: the persona's servers now, when the same kind of server
 * still serves it (where a call will look for it), else those it was registered on (its `hosts`,
 * else its provider's own). `all`: both (where it may hold memory).
 */
function placesOf(deps: ServingDeps, version: ModelVersion, which: 'now' | 'all'): ModelServer[] {
  const provider = version.provider ?? 'ollama';
  const registered: Array<string | undefined> = version.hosts ? [...version.hosts] : [undefined];
  const personas = deps.personas?.();
  if (!personas?.has(version.persona) || (deps.providerOf?.(version.persona) ?? 'ollama') !== provider)
    return serversAt(deps, provider, registered);
  const hosts = personas.get(version.persona).hosts;
  const now = hosts?.length ? hosts : [undefined];
  return serversAt(deps, provider, which === 'now' ? now : [...registered, ...now]);
}

/** The log's fields for a server: its address, where it is one of a persona's `hosts`. */
export const at = (server: ModelServer) => (server.address === undefined ? {} : { server: server.address });

/** The record of a persona's version (none for 0, the codex's own model). */
const recordOf = async (deps: Pick<FinetuneRuntime, 'store'>, persona: string, version: number) =>
  version > 0 ? (await deps.store.versions(persona)).find((v) => v.version === version) : undefined;

/** Takes a version off each of its servers where it holds memory there (a runtime adapter). */
export async function retireVersion(deps: ServingDeps, version: ModelVersion | undefined): Promise<void> {
  if (version?.path !== 'runtime-lora') return;
  for (const server of placesOf(deps, version, 'all')) {
    if (!server.registrar.retire) continue;
    try {
      await server.registrar.retire(version.model);
      deps.log.info(
        { persona: version.persona, model: version.model, ...at(server) },
        'unloaded from its server',
      );
    } catch (error) {
      deps.log.warn(
        { err: error, model: version.model, ...at(server) },
        'could not unload a version from its server',
      );
    }
  }
}

/** Loads a version again on each of its servers, where one may have forgotten it (a runtime adapter after a restart). */
export async function restoreVersion(deps: ServingDeps, version: ModelVersion | undefined): Promise<void> {
  if (version?.path !== 'runtime-lora' || !version.adapterDir) return;
  for (const server of placesOf(deps, version, 'now')) {
    try {
      const registration = await server.registrar.register({
        name: version.model,
        from: version.fromModel,
        base: version.base,
        adapterDir: version.adapterDir,
      });
      deps.log.info({ persona: version.persona, model: version.model, ...at(server) }, registration.summary);
    } catch (error) {
      deps.log.warn(
        { err: error, model: version.model, ...at(server) },
        'could not load a version on its server again',
      );
    }
  }
}

/** Takes a persona's `version` off its servers where it holds memory there (a candidate left out). */
export async function retireVersionOf(deps: ServingDeps, persona: string, version: number): Promise<void> {
  await followPointer(deps, persona, version, 0);
}

/** After a persona's pointer moved from version `left` to `entered`: their servers follow. */
export async function followPointer(
  deps: ServingDeps,
  persona: string,
  left: number,
  entered: number,
): Promise<void> {
  try {
    await restoreVersion(deps, await recordOf(deps, persona, entered));
    await retireVersion(deps, await recordOf(deps, persona, left));
  } catch (error) {
    // The versions could not be read: the servers stay as they are, the pointer has moved.
    deps.log.warn({ err: error, persona }, 'could not read the versions for the servers to follow');
  }
}

/** At start: the versions in force that live only in a server's memory are loaded again. */
export async function restoreActive(deps: ServingDeps, personas: readonly string[]): Promise<void> {
  try {
    for (const persona of personas) {
      const active = await deps.store.active(persona);
      if (active && active.version > 0)
        await restoreVersion(deps, await recordOf(deps, persona, active.version));
    }
  } catch (error) {
    deps.log.warn({ err: error }, 'could not read the versions for the servers to follow');
  }
}
