import { formatBytes } from '../../shared/text.ts';
import type { LlmProvider } from '../llm/chatModel.ts';

/**
 * The seam between a fine-tune and the server that will serve it: each kind of server puts the
 * trained weights in force its own way. Ollama below 0.34.1 builds a model from the base and the
 * adapter; Ollama from 0.34.1 only imports whole models, so it gets the adapter merged into the
 * base; vLLM loads the adapter at run time beside its base. A registrar is chosen by the
 * persona's provider (`providerOf`), one for each server that serves the persona (each of its
 * `hosts` in the codex, else the provider's own).
 */

/** What the trainer is asked to write (`--export`). */
export type TrainerExport = 'adapter' | 'merged' | 'both';

/** How a candidate was put on its server. */
export type RegistrationPath = 'adapter' | 'merged' | 'runtime-lora';

export interface RegistrationRequest {
  /** The candidate's immutable name (`batos-robin-v3`). */
  name: string;
  /** The model the persona is served by now (the adapter's base on the server). */
  from: string;
  /** The Hugging Face weights trained on. */
  base: string;
  /** The PEFT adapter's folder. */
  adapterDir: string;
  /** The merged weights' folder (a Hugging Face safetensors folder), when the trainer wrote them. */
  mergedDir?: string | undefined;
}

export interface Registration {
  path: RegistrationPath;
  /** The name the persona is served under from the swap on. */
  model: string;
  /** Bytes sent to the server (0 when it had them all, or loaded them from a shared folder). */
  bytes: number;
  /** Files uploaded, and files the server already had. */
  uploaded: number;
  reused: number;
  /** One line for people: the path taken and why (the server's version, a refusal). */
  summary: string;
}

/** A registration as the job and the lineage keep it. */
export interface RegistrationRecord extends Omit<Registration, 'model'> {
  provider: LlmProvider;
}

export interface ModelRegistrar {
  /**
   * Checks, before any training, that the server can take a fine-tuned model, and says what the
   * trainer should export for it. Throws (an AppError that says what to set) when it cannot.
   */
  prepare(): Promise<{ export: TrainerExport; note: string }>;
  /** Puts a candidate on the server under `request.name`. */
  register(request: RegistrationRequest): Promise<Registration>;
  /**
   * Takes a version off the server when it is no longer in force or never will be (a runtime
   * adapter holds memory); absent where a version costs nothing while unused.
   */
  retire?(model: string): Promise<void>;
  /**
   * Removes a model that nothing will ever name: a candidate this server took while another of
   * the persona's servers refused it. Absent: `retire` does it, where there is one.
   */
  remove?(model: string): Promise<void>;
  /** Frees the GPU of these models, where the server can (Ollama's `keep_alive: 0`). */
  unload(models: readonly string[]): Promise<void>;
}

/** The registrar of each provider's own server; absent where the provider is not configured. */
export type Registrars = Partial<Record<LlmProvider, ModelRegistrar>>;

/**
 * The registrar of one server of a provider, by base URL (one of a persona's `hosts`): the same
 * object for the same server, the provider's own where the URL is its.
 */
export type RegistrarAt = (provider: LlmProvider, address: string) => ModelRegistrar;

/** `3 files, 1.2 GB uploaded (1 already there)`. */
export function uploadSummary(registration: Pick<Registration, 'bytes' | 'uploaded' | 'reused'>): string {
  const files = registration.uploaded + registration.reused;
  const there = registration.reused ? ` (${registration.reused} already there)` : '';
  return `${files} file${files === 1 ? '' : 's'}, ${formatBytes(registration.bytes)} uploaded${there}`;
}
