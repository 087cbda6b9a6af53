import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../errors.ts';
import { call, type OllamaEndpoint, postJson, refused, uploadBlobs } from './ollamaHttp.ts';
import { ADAPTERS_REFUSED_FROM, isAdapterRefusal, parseVersion, takesAdapters } from './ollamaVersion.ts';
import type { ModelRegistrar, Registration, RegistrationRequest } from './registrar.ts';
import { uploadSummary } from './registrar.ts';
import { ADAPTER_FILES } from './trainerRun.ts';

/**
 * Ollama as a fine-tune's server, by what the server accepts. Below 0.34.1 the adapter is
 * registered on the persona's model (`from` + `adapters`: a few megabytes); so it is tried first
 * when the version says nothing. From 0.34.1, or when the server refuses the adapter, the merged
 * weights are imported as a whole model (`files` + `quantize`), prompted exactly as the model in
 * force: its template, parameters and system prompt are copied from `/api/show`. Every version stays on the
 * server for an instant rollback, so nothing is retired; only a candidate that another of the
 * persona's servers refused is removed (`/api/delete`), since nothing will ever name it.
 */

export interface OllamaRegistrarOptions extends OllamaEndpoint {
  /** `OLLAMA_VERSION`: believed instead of the server's own answer (for a server that misreports). */
  version?: string | undefined;
  /** `FINETUNE_QUANTIZE`: how the merged fp16 weights are quantized on import (`none`: kept as they are). */
  quantize: string;
}

/**
 * Least quantizing speed a merged model's import allows for (bytes of fp16 weights a second): an
 * 8B model (16 GB) gets about 13 minutes. `/api/create` with `stream: false` answers only when done.
 */
const QUANTIZE_BYTES_PER_S = 20_000_000;

/** The version the registration goes by, and how to name it in a log line. */
async function serverVersion(options: OllamaRegistrarOptions): Promise<{ version?: string; said: string }> {
  if (options.version)
    return { version: options.version, said: `Ollama ${options.version} (OLLAMA_VERSION)` };
  try {
    const response = await call(options, '/api/version', { method: 'GET' });
    const body = response.ok ? ((await response.json()) as { version?: unknown }) : {};
    if (typeof body.version === 'string')
      return {
        version: body.version,
        said: `Ollama ${body.version}${parseVersion(body.version) ? '' : ' (a version that says nothing)'}`,
      };
  } catch {
    // Unreachable now: the registration itself will say so, if it still is.
  }
  return { said: 'Ollama (its version unknown)' };
}

/**
 * Ollama's `/api/show` parameters (one `name value` a line, strings quoted as Go quotes them)
 * as `/api/create` takes them: an object, `stop` always a list, numbers and booleans typed.
 */
export function parseParameters(text: string): Record<string, unknown> {
  const parameters: Record<string, unknown> = {};
  for (const line of text.split('\n')) {
    const match = /^(\S+)\s+(.+)$/.exec(line.trim());
    if (!match) continue;
    const key = match[1] as string;
    const raw = (match[2] as string).trim();
    let value: unknown = raw;
    if (/^".*"$/.test(raw)) {
      try {
        value = JSON.parse(raw);
      } catch {
        value = raw.slice(1, -1);
      }
    } else if (/^-?\d+(\.\d+)?(e[-+]?\d+)?$/i.test(raw)) value = Number(raw);
    else if (raw === 'true' || raw === 'false') value = raw === 'true';
    const earlier = parameters[key];
    if (key === 'stop' || earlier !== undefined)
      parameters[key] = [
        ...(Array.isArray(earlier) ? earlier : earlier === undefined ? [] : [earlier]),
        value,
      ];
    else parameters[key] = value;
  }
  return parameters;
}

/** How the base model is prompted: its template, parameters and system prompt, as `/api/show` reports them. */
async function promptingOf(
  options: OllamaEndpoint,
  model: string,
): Promise<{ template?: string; parameters?: Record<string, unknown>; system?: string }> {
  const response = await postJson(options, '/api/show', { model });
  if (!response.ok) throw await refused(response, `show ${model} (whose template the new model copies)`);
  const shown = (await response.json()) as { template?: unknown; parameters?: unknown; system?: unknown };
  const parameters = typeof shown.parameters === 'string' ? parseParameters(shown.parameters) : {};
  return {
    ...(typeof shown.template === 'string' && shown.template ? { template: shown.template } : {}),
    ...(Object.keys(parameters).length ? { parameters } : {}),
    ...(typeof shown.system === 'string' && shown.system ? { system: shown.system } : {}),
  };
}

/** The adapter's files pushed as blobs, then `name` created from `from` and them. */
async function registerAdapter(
  options: OllamaRegistrarOptions,
  request: RegistrationRequest,
  why: string,
): Promise<Registration> {
  const upload = await uploadBlobs(
    options,
    ADAPTER_FILES.map((name) => ({ name, path: join(request.adapterDir, name) })),
  );
  const created = await postJson(options, '/api/create', {
    model: request.name,
    from: request.from,
    adapters: upload.digests,
    stream: false,
  });
  if (!created.ok)
    throw await refused(created, `create ${request.name} from ${request.from} and the adapter`);
  return {
    path: 'adapter',
    model: request.name,
    ...upload,
    summary: `adapter on ${request.from} (${why}): ${uploadSummary(upload)}`,
  };
}

/** Every file of the merged folder pushed as a blob, then `name` imported from them, prompted as `from`. */
async function registerMerged(
  options: OllamaRegistrarOptions,
  request: RegistrationRequest & { mergedDir: string },
  why: string,
): Promise<Registration> {
  const entries = await readdir(request.mergedDir, { withFileTypes: true });
  const files = entries
    .filter((entry) => entry.isFile() && !entry.name.startsWith('.'))
    .map((entry) => ({ name: entry.name, path: join(request.mergedDir, entry.name) }))
    .sort((a, b) => a.name.localeCompare(b.name));
  const upload = await uploadBlobs(options, files);
  const prompting = await promptingOf(options, request.from);
  const quantize = options.quantize === 'none' ? undefined : options.quantize;
  const created = await postJson(
    options,
    '/api/create',
    {
      model: request.name,
      files: upload.digests,
      ...(quantize ? { quantize } : {}),
      ...prompting,
      stream: false,
    },
    options.timeoutMs + Math.ceil((upload.total / QUANTIZE_BYTES_PER_S) * 1000),
  );
  if (!created.ok) throw await refused(created, `create ${request.name} from the merged weights`);
  return {
    path: 'merged',
    model: request.name,
    ...upload,
    summary: `merged model${quantize ? `, ${quantize}` : ''}, prompted as ${request.from} (${why}): ${uploadSummary(upload)}`,
  };
}

/** The adapter where the server takes one, else (or when it refuses it) the merged model. */
async function register(
  options: OllamaRegistrarOptions,
  request: RegistrationRequest,
): Promise<Registration> {
  const { version, said } = await serverVersion(options);
  const adapters = takesAdapters(version);
  const hasAdapter = ADAPTER_FILES.every((file) => existsSync(join(request.adapterDir, file)));
  const { mergedDir } = request;
  let why = `${said} takes whole models only`;
  // The adapter first where the server may take it (a few megabytes, on the model in force):
  // below 0.34.1, or when the version says nothing (a build from source reports 0.0.0).
  if (hasAdapter && (adapters !== false || !mergedDir)) {
    try {
      return await registerAdapter(
        options,
        request,
        adapters ? `${said} takes adapters` : `${said} took the adapter`,
      );
    } catch (error) {
      if (!(error instanceof AppError) || !isAdapterRefusal(error.message)) throw error;
      if (!mergedDir)
        throw new AppError(
          'OLLAMA_ERROR',
          'operational',
          `${error.message}. From ${ADAPTERS_REFUSED_FROM} Ollama takes whole models only, and this job has no merged weights: ${
            adapters
              ? `the trainer was asked for the adapter alone, since ${said} should take it (set OLLAMA_VERSION to the server's true version)`
              : 'the trainer wrote none (it must write them for --export both)'
          }`,
        );
      why = `${said} refused the adapter`;
    }
  }
  if (!mergedDir)
    throw new AppError(
      'OLLAMA_ERROR',
      'operational',
      `${said} takes whole models only, and the trainer wrote no merged weights (no merged_dir in its done event; it must write them for --export both)`,
    );
  return registerMerged(options, { ...request, mergedDir }, why);
}

/** Unloads each model once (`keep_alive: 0`). */
async function unload(endpoint: OllamaEndpoint, models: readonly string[]): Promise<void> {
  for (const model of new Set(models)) {
    const response = await postJson(endpoint, '/api/generate', { model, keep_alive: 0 });
    // A model that is not there is not loaded either.
    if (!response.ok && response.status !== 404) throw await refused(response, `unload ${model}`);
    await response.body?.cancel();
  }
}

/** Deletes a model; one that is not there is gone already. */
async function remove(endpoint: OllamaEndpoint, model: string): Promise<void> {
  const response = await call(endpoint, '/api/delete', {
    method: 'DELETE',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ model }),
  });
  if (!response.ok && response.status !== 404) throw await refused(response, `delete ${model}`);
  await response.body?.cancel();
}

export function createOllamaRegistrar(options: OllamaRegistrarOptions): ModelRegistrar {
  return {
    async prepare() {
      const { version, said } = await serverVersion(options);
      const adapters = takesAdapters(version);
      if (adapters)
        return { export: 'adapter', note: `${said} takes adapters: the trainer writes the adapter` };
      return {
        export: 'both',
        note:
          adapters === false
            ? `${said} takes whole models only: the trainer also writes the adapter merged into the base`
            : `${said}: the trainer writes the adapter and the merged model, whichever the server takes`,
      };
    },
    register: (request) => register(options, request),
    unload: (models) => unload(options, models),
    remove: (model) => remove(options, model),
  };
}
