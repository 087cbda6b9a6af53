import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { sha256File } from '../../shared/hash.ts';
import { AppError } from '../errors.ts';
import { deadlineSignal } from '../llm/deadline.ts';
import { ADAPTER_FILES } from './trainerRun.ts';

/**
 * What the fine-tuning loop asks of Ollama over HTTP (`docs/OLLAMA.md`): upload an adapter's
 * files as blobs (skipping those already there), create a model from the base and the adapter
 * under an immutable name, and unload or warm models (`keep_alive`).
 */
export interface ModelHost {
  /** Registers `adapterDir` on `from` as a new model `name`. */
  createFromAdapter(
    name: string,
    from: string,
    adapterDir: string,
  ): Promise<{ uploaded: number; reused: number }>;
  /** Unloads models at once (`keep_alive: 0`), freeing the GPU. */
  unload(models: readonly string[]): Promise<void>;
}

/** A blob's name in Ollama: its sha256. */
const digestOf = async (path: string) => `sha256:${await sha256File(path)}`;

/** Where Ollama listens, and how long a request may take (default). */
interface OllamaEndpoint {
  host: string;
  timeoutMs: number;
}

/** One request to Ollama; unreachable (or too slow) is an operational, retryable error. */
async function call(
  endpoint: OllamaEndpoint,
  path: string,
  init: RequestInit & { timeoutMs?: number },
): Promise<Response> {
  const deadline = deadlineSignal(init.timeoutMs ?? endpoint.timeoutMs);
  try {
    return await fetch(`${endpoint.host}${path}`, { ...init, signal: deadline.signal });
  } catch (error) {
    throw new AppError(
      'OLLAMA_UNREACHABLE',
      'operational',
      `cannot reach Ollama at ${endpoint.host}: ${(error as Error).message}`,
      {
        cause: error,
        retryable: true,
      },
    );
  } finally {
    deadline.clear();
  }
}

/** The error for a request Ollama answered with a failure, with its own reason when it gave one. */
async function refused(response: Response, what: string): Promise<AppError> {
  const body = (await response.json().catch(() => ({}))) as { error?: string };
  return new AppError(
    'OLLAMA_ERROR',
    'operational',
    `Ollama refused to ${what}: ${body.error ?? `HTTP ${response.status}`}`,
  );
}

/** Uploads the adapter's files as blobs (those Ollama lacks), then creates `name` from `from` and them. */
async function createFromAdapter(
  endpoint: OllamaEndpoint,
  name: string,
  from: string,
  adapterDir: string,
): Promise<{ uploaded: number; reused: number }> {
  const adapters: Record<string, string> = {};
  let uploaded = 0;
  let reused = 0;
  for (const file of ADAPTER_FILES) {
    const path = join(adapterDir, file);
    const digest = await digestOf(path);
    adapters[basename(path)] = digest;
    const head = await call(endpoint, `/api/blobs/${digest}`, { method: 'HEAD' });
    if (head.ok) {
      reused++;
      continue;
    }
    const upload = await call(endpoint, `/api/blobs/${digest}`, {
      method: 'POST',
      body: await readFile(path),
    });
    if (!upload.ok) throw await refused(upload, `store ${file}`);
    uploaded++;
  }
  const created = await call(endpoint, '/api/create', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ model: name, from, adapters, stream: false }),
  });
  if (!created.ok) throw await refused(created, `create ${name} from ${from}`);
  return { uploaded, reused };
}

/** Unloads each model once (`keep_alive: 0`). */
async function unload(endpoint: OllamaEndpoint, models: readonly string[]): Promise<void> {
  for (const model of new Set(models)) {
    const response = await call(endpoint, '/api/generate', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ model, keep_alive: 0 }),
    });
    // A model that is not there is not loaded either.
    if (!response.ok && response.status !== 404) throw await refused(response, `unload ${model}`);
    await response.body?.cancel();
  }
}

export function createOllamaModelHost(options: OllamaEndpoint): ModelHost {
  return {
    createFromAdapter: (name, from, adapterDir) => createFromAdapter(options, name, from, adapterDir),
    unload: (models) => unload(options, models),
  };
}
