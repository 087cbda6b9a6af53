import type { LlmProvider } from '../llm/chatModel.ts';
import type { FinetuneRuntime } from './fineTunerDeps.ts';
import type { ModelVersion } from './finetuneStore.ts';
import type { ModelRegistrar } from './registrar.ts';

/**
 * The servers' side of the versions: which registrar serves a persona, and what follows a move
 * of the pointer on a server that keeps only what it is told to (vLLM's runtime adapters): the
 * version left is unloaded, the version entered is loaded again if the server forgot it (a
 * restart). Ollama keeps every version, so nothing follows there. These run after the pointer
 * moved and are logged, never thrown: the swap itself is the one write.
 */

/** How people call each kind of server, at the start of a sentence. */
export const SERVER_NAMES: Record<LlmProvider, string> = {
  ollama: 'Ollama',
  openai: 'The OpenAI-compatible server',
};

/** The server of a persona now, and its registrar if that server can take a fine-tuned model. */
export function serverOf(
  deps: Pick<FinetuneRuntime, 'registrars' | 'providerOf'>,
  persona: string,
): { provider: LlmProvider; registrar: ModelRegistrar | undefined } {
  const provider = deps.providerOf?.(persona) ?? 'ollama';
  return { provider, registrar: deps.registrars[provider] };
}

type ServingDeps = Pick<FinetuneRuntime, 'registrars' | 'store' | 'log'>;

/** The record of a persona's version (none for 0, the codex's own model). */
const recordOf = async (deps: Pick<FinetuneRuntime, 'store'>, persona: string, version: number) =>
  version > 0 ? (await deps.store.versions(persona)).find((v) => v.version === version) : undefined;

/** Takes a version off its server where it holds memory there (a runtime adapter). */
export async function retireVersion(deps: ServingDeps, version: ModelVersion | undefined): Promise<void> {
  if (version?.path !== 'runtime-lora') return;
  const registrar = deps.registrars[version.provider ?? 'ollama'];
  if (!registrar?.retire) return;
  try {
    await registrar.retire(version.model);
    deps.log.info({ persona: version.persona, model: version.model }, 'unloaded from its server');
  } catch (error) {
    deps.log.warn({ err: error, model: version.model }, 'could not unload a version from its server');
  }
}

/** Loads a version again where its server may have forgotten it (a runtime adapter after a restart). */
export async function restoreVersion(deps: ServingDeps, version: ModelVersion | undefined): Promise<void> {
  if (version?.path !== 'runtime-lora' || !version.adapterDir) return;
  const registrar = deps.registrars[version.provider ?? 'ollama'];
  if (!registrar) return;
  try {
    const registration = await registrar.register({
      name: version.model,
      from: version.fromModel,
      base: version.base,
      adapterDir: version.adapterDir,
    });
    deps.log.info({ persona: version.persona, model: version.model }, registration.summary);
  } catch (error) {
    deps.log.warn({ err: error, model: version.model }, 'could not load a version on its server again');
  }
}

/** Takes a persona's `version` off its server where it holds memory there (a candidate left out). */
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
