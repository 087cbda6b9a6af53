import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
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

async function digestOf(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return `sha256:${hash.digest('hex')}`;
}

export function createOllamaModelHost(options: { host: string; timeoutMs: number }): ModelHost {
  const call = async (path: string, init: RequestInit & { timeoutMs?: number }) => {
    const deadline = deadlineSignal(init.timeoutMs ?? options.timeoutMs);
    try {
      return await fetch(`${options.host}${path}`, { ...init, signal: deadline.signal });
    } catch (error) {
      throw new AppError(
        'OLLAMA_UNREACHABLE',
        'operational',
        `cannot reach Ollama at ${options.host}: ${(error as Error).message}`,
        {
          cause: error,
          retryable: true,
        },
      );
    } finally {
      deadline.clear();
    }
  };
  const refused = async (response: Response, what: string) => {
    const body = (await response.json().catch(() => ({}))) as { error?: string };
    return new AppError(
      'OLLAMA_ERROR',
      'operational',
      `Ollama refused to ${what}: ${body.error ?? `HTTP ${response.status}`}`,
    );
  };
  return {
    async createFromAdapter(name, from, adapterDir) {
      const adapters: Record<string, string> = {};
      let uploaded = 0;
      let reused = 0;
      for (const file of ADAPTER_FILES) {
        const path = join(adapterDir, file);
        const digest = await digestOf(path);
        adapters[basename(path)] = digest;
        const head = await call(`/api/blobs/${digest}`, { method: 'HEAD' });
        if (head.ok) {
          reused++;
          continue;
        }
        const upload = await call(`/api/blobs/${digest}`, { method: 'POST', body: await readFile(path) });
        if (!upload.ok) throw await refused(upload, `store ${file}`);
        uploaded++;
      }
      const created = await call('/api/create', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ model: name, from, adapters, stream: false }),
      });
      if (!created.ok) throw await refused(created, `create ${name} from ${from}`);
      return { uploaded, reused };
    },
    async unload(models) {
      for (const model of new Set(models)) {
        const response = await call('/api/generate', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ model, keep_alive: 0 }),
        });
        // A model that is not there is not loaded either.
        if (!response.ok && response.status !== 404) throw await refused(response, `unload ${model}`);
        await response.body?.cancel();
      }
    },
  };
}
