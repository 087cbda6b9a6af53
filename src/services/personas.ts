import type { ModelOptions } from './codex/codexSchema.ts';
import type { Codex } from './codex/loadCodex.ts';
import type { LlmProvider } from './llm/chatModel.ts';

/** A persona as the rest of the system sees it, built from the codex. */
export interface Persona {
  /** The codex key: `ALFRED`, `BRICK`, `ROBIN`, or any persona the codex adds. */
  readonly id: string;
  readonly displayName: string;
  readonly role: string;
  /** Ollama model name, as the codex says (a fine-tuned version in force may replace it: see the active models). */
  readonly model: string;
  /** Who serves the model when the codex names one; otherwise the `LLM_PROVIDER` setting. */
  readonly provider?: LlmProvider;
  /** The model servers that share its calls (base URLs), when the codex lists them; otherwise the provider's one. */
  readonly hosts?: readonly string[];
  /** The Hugging Face weights matching `model`, for fine-tuning; none: the persona is not fine-tuned. */
  readonly finetuneBase?: string;
  readonly temperature: number;
  readonly options: Readonly<ModelOptions>;
  readonly avatarUrl: string;
  readonly systemPrompt: string;
  readonly principles: readonly string[];
}

export interface PersonaRegistry {
  /** Throws when the codex has no such persona. */
  get(id: string): Persona;
  has(id: string): boolean;
  list(): readonly Persona[];
  /** The principles that no amendment may touch. */
  readonly corePrinciples: readonly string[];
  readonly codexVersion: number;
}

/** Builds every persona the codex defines; a new `[personas.X]` table needs no code change. */
export function createPersonaRegistry(codex: Codex): PersonaRegistry {
  const personas = new Map<string, Persona>(
    Object.entries(codex.data.personas).map(([id, p]) => [
      id,
      Object.freeze({
        id,
        displayName: p.display_name,
        role: p.role,
        model: p.model,
        ...(p.provider ? { provider: p.provider } : {}),
        ...(p.hosts ? { hosts: p.hosts } : {}),
        ...(p.finetune_base ? { finetuneBase: p.finetune_base } : {}),
        temperature: p.temperature,
        options: p.options,
        avatarUrl: p.avatar_url,
        systemPrompt: p.system_prompt,
        principles: p.principles,
      }),
    ]),
  );
  const list = Object.freeze([...personas.values()]);
  return {
    get(id) {
      const persona = personas.get(id);
      if (!persona)
        throw new Error(`The codex defines no persona "${id}" (it has ${[...personas.keys()].join(', ')})`);
      return persona;
    },
    has: (id) => personas.has(id),
    list: () => list,
    corePrinciples: codex.data.core.principles,
    codexVersion: codex.data.version,
  };
}
