import { isAbsolute, posix, relative, sep } from 'node:path';
import { withoutHostDetails } from '../../shared/hostDetails.ts';
import { AppError } from '../errors.ts';
import { deadlineSignal } from '../llm/deadline.ts';
import type { ModelRegistrar, Registration, RegistrationRequest } from './registrar.ts';

/**
 * vLLM (and any OpenAI-compatible server with vLLM's routes) as a fine-tune's server: the adapter
 * is loaded at run time beside the base (`POST /v1/load_lora_adapter {lora_name, lora_path}`),
 * its name becoming a model name, and unloaded when it leaves (`/v1/unload_lora_adapter`). The
 * server reads the adapter from its own disk: `FINETUNE_SHARED_DIR` says where it sees the
 * trainer's output. A server without the routes (llama.cpp's, a hosted API, vLLM started without
 * them) is refused before any training, with the flags to set.
 */

export interface OpenAIRegistrarOptions {
  /** `OPENAI_BASE_URL`, with its `/v1`. */
  baseUrl: string;
  apiKey: string | undefined;
  timeoutMs: number;
  /** Where the trainer's outputs are on this host (`DATA_DIR/finetune`). */
  localDir: string;
  /** `FINETUNE_SHARED_DIR`: where the model server sees `localDir`; unset, the same path (one host). */
  sharedDir?: string | undefined;
}

/** What to set for a server that cannot load adapters at run time. */
export const RUNTIME_LORA_HELP =
  'start vLLM with --enable-lora and the environment variable VLLM_ALLOW_RUNTIME_LORA_UPDATING=True (llama.cpp’s server and hosted APIs cannot load an adapter at run time: serve such a persona from Ollama or vLLM)';

/** Where the model server finds a file the trainer wrote at `local`. */
export function serverPath(
  options: Pick<OpenAIRegistrarOptions, 'localDir' | 'sharedDir'>,
  local: string,
): string {
  if (!options.sharedDir) return local;
  const inside = relative(options.localDir, local);
  if (inside.startsWith('..') || isAbsolute(inside)) return local;
  return posix.join(options.sharedDir, ...inside.split(sep));
}

/** vLLM's error (`{error: {message}}`; older versions `{message}`), else the status. */
async function reasonOf(response: Response): Promise<string> {
  const text = await response.text().catch(() => '');
  try {
    const body = JSON.parse(text) as {
      error?: { message?: string } | string;
      message?: string;
      detail?: unknown;
    };
    const message =
      typeof body.error === 'object' ? body.error?.message : (body.error ?? body.message ?? body.detail);
    if (message) return typeof message === 'string' ? message : JSON.stringify(message);
  } catch {
    // Not JSON: the text itself, if any.
  }
  return text.trim().slice(0, 300) || `HTTP ${response.status}`;
}

async function post(options: OpenAIRegistrarOptions, route: string, body: unknown): Promise<Response> {
  const deadline = deadlineSignal(options.timeoutMs);
  try {
    // The routes hang off the server's root, as `/v1/models` does: OPENAI_BASE_URL carries the `/v1`.
    return await fetch(`${options.baseUrl.replace(/\/v1\/?$/, '')}${route}`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        ...(options.apiKey ? { Authorization: `Bearer ${options.apiKey}` } : {}),
      },
      body: JSON.stringify(body),
      signal: deadline.signal,
    });
  } catch (error) {
    throw new AppError(
      'LLM_UNREACHABLE',
      'operational',
      `cannot reach the OpenAI-compatible server at ${options.baseUrl}: ${(error as Error).message}`,
      {
        cause: error,
        retryable: true,
        publicMessage: `cannot reach the OpenAI-compatible server (the address tried is in the bot's log)`,
      },
    );
  } finally {
    deadline.clear();
  }
}

/** The refusal for a server that lacks a route (404, 405) or turns LoRA away. */
function cannotLoad(options: OpenAIRegistrarOptions, reason: string): AppError {
  return new AppError(
    'LLM_ERROR',
    'user',
    `the server at ${options.baseUrl} cannot load a LoRA adapter at run time (${reason}): ${RUNTIME_LORA_HELP}`,
    {
      publicMessage: `the OpenAI-compatible server cannot load a LoRA adapter at run time (${withoutHostDetails(reason)}): ${RUNTIME_LORA_HELP}`,
    },
  );
}

/** Whether the routes are there: an empty load is refused by vLLM as a bad request, by others as an unknown route. */
async function prepare(options: OpenAIRegistrarOptions) {
  const response = await post(options, '/v1/load_lora_adapter', { lora_name: '', lora_path: '' });
  const reason = await reasonOf(response);
  if (response.status === 404 || response.status === 405)
    throw cannotLoad(options, `POST /v1/load_lora_adapter answered ${response.status}`);
  if (response.status === 401 || response.status === 403)
    throw new AppError(
      'LLM_AUTH',
      'user',
      `the server at ${options.baseUrl} refused OPENAI_API_KEY: ${reason}`,
      { publicMessage: `the OpenAI-compatible server refused OPENAI_API_KEY: ${withoutHostDetails(reason)}` },
    );
  if (response.status >= 500)
    throw new AppError('LLM_ERROR', 'operational', `the server at ${options.baseUrl} failed: ${reason}`, {
      publicMessage: `the OpenAI-compatible server failed: ${withoutHostDetails(reason)}`,
    });
  return {
    export: 'adapter' as const,
    note: `the server at ${options.baseUrl} loads adapters at run time: the trainer writes the adapter`,
  };
}

async function register(
  options: OpenAIRegistrarOptions,
  request: RegistrationRequest,
): Promise<Registration> {
  const loraPath = serverPath(options, request.adapterDir);
  const response = await post(options, '/v1/load_lora_adapter', {
    lora_name: request.name,
    lora_path: loraPath,
  });
  const reason = response.ok ? '' : await reasonOf(response);
  await response.body?.cancel().catch(() => undefined);
  // Loaded before (a restart of the bot, a rollback back to it): it is there, as wanted.
  const already = response.status === 400 && /already been loaded/i.test(reason);
  if (!response.ok && !already) {
    if (/no adapter found|no such file|not a directory/i.test(reason))
      throw new AppError(
        'LLM_ERROR',
        'user',
        `the server at ${options.baseUrl} cannot read the adapter at ${loraPath} (${reason}): set FINETUNE_SHARED_DIR to where the model server sees ${options.localDir}`,
        {
          publicMessage:
            "the OpenAI-compatible server cannot read the adapter where it was told to look: set FINETUNE_SHARED_DIR to where the model server sees the bot's fine-tune folder (the paths are in the bot's log)",
        },
      );
    if (response.status === 404 || response.status === 405)
      throw cannotLoad(options, `POST /v1/load_lora_adapter answered ${response.status}`);
    if (/lora is not enabled|enable[-_]lora/i.test(reason)) throw cannotLoad(options, reason);
    throw new AppError('LLM_ERROR', 'operational', `the server refused to load ${request.name}: ${reason}`);
  }
  return {
    path: 'runtime-lora',
    model: request.name,
    bytes: 0,
    uploaded: 0,
    reused: already ? 1 : 0,
    summary: `loaded at run time on ${options.baseUrl} from ${loraPath}${already ? ' (it was loaded already)' : ''}`,
  };
}

async function retire(options: OpenAIRegistrarOptions, model: string): Promise<void> {
  const response = await post(options, '/v1/unload_lora_adapter', { lora_name: model });
  const reason = response.ok ? '' : await reasonOf(response);
  await response.body?.cancel().catch(() => undefined);
  // Not loaded (the server restarted since): nothing to undo.
  if (response.ok || (response.status === 404 && /cannot be found|not found/i.test(reason))) return;
  throw new AppError('LLM_ERROR', 'operational', `the server refused to unload ${model}: ${reason}`);
}

export function createOpenAIRegistrar(options: OpenAIRegistrarOptions): ModelRegistrar {
  return {
    prepare: () => prepare(options),
    register: (request) => register(options, request),
    retire: (model) => retire(options, model),
    // vLLM has no keep_alive: it holds its share of GPU memory (--gpu-memory-utilization) for as
    // long as it runs. A trainer on the same GPU needs the rest, or another GPU
    // (README, "Which server takes a fine-tuned model").
    unload: async () => {},
  };
}
