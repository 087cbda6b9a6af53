import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/**
 * The Ollama emulator's models as a current Ollama keeps them (docs/OLLAMA.md): blobs pushed and
 * checked against their digest (hashed as they stream in, never held whole: a merged model's
 * shards are gigabytes), models created from `files` + `quantize` on every version and from
 * `from` + `adapters` below 0.34.1 only (from 0.34.1 Ollama answers 400 with its refusal), and
 * `/api/show`'s template, parameters and system prompt for each model.
 */

/** The version the emulator reports unless told otherwise: the one compose.yaml pins. */
export const OLLAMA_EMULATOR_VERSION = '0.34.2';
/** Ollama's answer (HTTP 400) to `adapters` on `/api/create`, from 0.34.1 (ollama/ollama#14969). */
export const ADAPTERS_REFUSED = 'LoRA adapters are no longer supported';
/** The quantizations `/api/create` takes for fp16/fp32 safetensors. */
export const QUANTIZATIONS = ['q4_K_M', 'q4_K_S', 'q8_0'];
/** A blob's bytes are kept (for a test to read) up to this size; above it only its size and digest. */
const KEEP_BYTES = 1 << 20;

/** How a model is prompted, as `/api/show` reports it. */
export interface Prompting {
  template: string;
  /** `/api/show`'s text form: one `name value` a line. */
  parameters: string;
  system?: string;
}

/** Llama 3.1's chat template and stop words, as Ollama's llama3.1 reports them (tools aside). */
export const BASE_PROMPTING: Prompting = {
  template:
    '{{- if .System }}<|start_header_id|>system<|end_header_id|>\n\n{{ .System }}<|eot_id|>{{ end }}{{- range .Messages }}<|start_header_id|>{{ .Role }}<|end_header_id|>\n\n{{ .Content }}<|eot_id|>{{ end }}<|start_header_id|>assistant<|end_header_id|>\n\n',
  parameters: [
    `${'stop'.padEnd(30)} "<|start_header_id|>"`,
    `${'stop'.padEnd(30)} "<|end_header_id|>"`,
    `${'stop'.padEnd(30)} "<|eot_id|>"`,
    `${'num_ctx'.padEnd(30)} 8192`,
  ].join('\n'),
};

export interface StoredBlob {
  size: number;
  /** How many pieces the body arrived in, and whether it came chunked (no Content-Length). */
  chunks: number;
  chunked: boolean;
  /** The bytes, for a blob up to 1 MiB. */
  bytes?: Buffer;
}

/** A model made with `/api/create`: from a base and adapter blobs, or from whole-model files. */
export interface CreatedModel {
  name: string;
  from?: string;
  /** Adapter file name → `sha256:<hex>` digest. */
  adapters: Record<string, string>;
  /** Whole-model file name → digest (config.json, tokenizer files, *.safetensors). */
  files: Record<string, string>;
  quantize?: string;
  template?: string;
  parameters?: Record<string, unknown>;
  system?: string;
}

export type Answer = { status: number; body?: unknown; ndjson?: unknown[] };

export function fullName(model: string): string {
  return model.includes(':') ? model : `${model}:latest`;
}

const notFound = (model: string) => ({ error: `model "${model}" not found, try pulling it first` });

/** `/api/create`'s parameters object in `/api/show`'s text form. */
function parametersText(parameters: Record<string, unknown>): string {
  return Object.entries(parameters)
    .flatMap(([key, value]) => (Array.isArray(value) ? value : [value]).map((v) => [key, v] as const))
    .map(
      ([key, value]) =>
        `${key.padEnd(30)} ${typeof value === 'string' ? JSON.stringify(value) : String(value)}`,
    )
    .join('\n');
}

export class OllamaRegistry {
  readonly models = new Set<string>();
  readonly blobs = new Map<string, StoredBlob>();
  readonly created = new Map<string, CreatedModel>();
  /** How each base model is prompted (default: Llama 3.1's), for `/api/show`. */
  readonly prompting = new Map<string, Prompting>();
  /** The version `/api/version` reports, and that decides whether `adapters` are taken. */
  version = OLLAMA_EMULATOR_VERSION;
  /** Answer `/api/create` with this error once (a refusal), when set. */
  failCreate: { status: number; error: string } | undefined;
  /** Whether `adapters` are refused whatever the version says (a build from source reports 0.0.0). */
  refusesAdapters: boolean | undefined;

  /** Whether this server still creates models from adapters: below 0.34.1, unless told otherwise. */
  takesAdapters(): boolean {
    if (this.refusesAdapters !== undefined) return !this.refusesAdapters;
    const [major = 0, minor = 0, patch = 0] = this.version.replace(/^v/, '').split(/[.-]/).map(Number);
    return major === 0 && (minor < 34 || (minor === 34 && patch < 1));
  }

  /** `HEAD` (is it there?) and `POST` (stored when the bytes hash to the digest, 400 otherwise). */
  async blob(method: string, digest: string, req: IncomingMessage): Promise<Answer> {
    if (!/^sha256:[0-9a-f]{64}$/.test(digest))
      return { status: 400, body: { error: 'invalid digest format' } };
    if (method === 'HEAD') return { status: this.blobs.has(digest) ? 200 : 404 };
    if (method !== 'POST') return { status: 405, body: { error: 'method not allowed' } };
    const hash = createHash('sha256');
    const kept: Buffer[] = [];
    let size = 0;
    let chunks = 0;
    for await (const chunk of req) {
      const piece = chunk as Buffer;
      hash.update(piece);
      size += piece.length;
      chunks++;
      if (size <= KEEP_BYTES) kept.push(piece);
    }
    if (`sha256:${hash.digest('hex')}` !== digest) return { status: 400, body: { error: 'digest mismatch' } };
    this.blobs.set(digest, {
      size,
      chunks,
      chunked: req.headers['transfer-encoding'] === 'chunked',
      ...(size <= KEEP_BYTES ? { bytes: Buffer.concat(kept) } : {}),
    });
    return { status: 201 };
  }

  /** `/api/create`: from `files` (every version) or from `from` + `adapters` (below 0.34.1). */
  create(body: Record<string, unknown>): Answer {
    if (!body.model) return { status: 400, body: { error: 'model is required' } };
    const name = fullName(String(body.model));
    if (this.failCreate) {
      const { status, error } = this.failCreate;
      this.failCreate = undefined;
      return { status, body: { error } };
    }
    const adapters = (body.adapters ?? {}) as Record<string, string>;
    const files = (body.files ?? {}) as Record<string, string>;
    if (Object.keys(adapters).length && !this.takesAdapters())
      return { status: 400, body: { error: ADAPTERS_REFUSED } };
    const missing = [...Object.values(adapters), ...Object.values(files)].find((d) => !this.blobs.has(d));
    if (missing) return { status: 400, body: { error: `blob ${missing} not found` } };
    const quantize = typeof body.quantize === 'string' ? body.quantize : undefined;
    const made: CreatedModel = { name, adapters, files };
    if (Object.keys(files).length) {
      const names = Object.keys(files);
      if (!names.includes('config.json') || !names.some((file) => file.endsWith('.safetensors')))
        return {
          status: 400,
          body: { error: 'unknown model format: config.json and *.safetensors are needed' },
        };
      if (quantize && !QUANTIZATIONS.some((q) => q.toLowerCase() === quantize.toLowerCase()))
        return { status: 400, body: { error: `unsupported quantization type ${quantize}` } };
      if (quantize) made.quantize = quantize;
    } else {
      const from = String(body.from ?? '');
      if (!this.models.has(fullName(from))) return { status: 404, body: notFound(from) };
      made.from = from;
    }
    if (typeof body.template === 'string') made.template = body.template;
    if (body.parameters && typeof body.parameters === 'object')
      made.parameters = body.parameters as Record<string, unknown>;
    if (typeof body.system === 'string') made.system = body.system;
    this.models.add(name);
    this.created.set(name, made);
    if (body.stream === false) return { status: 200, body: { status: 'success' } };
    const steps = [
      ...(made.quantize ? [{ status: `quantizing F16 model to ${made.quantize.toUpperCase()}` }] : []),
      { status: 'writing manifest' },
      { status: 'success' },
    ];
    return { status: 200, ndjson: steps };
  }

  /** `/api/show`: a created model's prompting as it was given, a base model's as it ships. */
  show(model: string, dimension: number): Answer {
    const name = fullName(model);
    if (!this.models.has(name)) return { status: 404, body: { error: `model '${model}' not found` } };
    const made = this.created.get(name);
    const base = this.prompting.get(name) ?? BASE_PROMPTING;
    const prompting = made
      ? {
          template: made.template ?? (made.from ? base.template : '{{ .Prompt }}'),
          parameters: made.parameters ? parametersText(made.parameters) : '',
          ...(made.system ? { system: made.system } : {}),
        }
      : base;
    return {
      status: 200,
      body: {
        modelfile: `FROM ${model}`,
        ...prompting,
        details: {
          format: 'gguf',
          family: 'llama',
          parameter_size: '8.0B',
          quantization_level: made?.quantize?.toUpperCase() ?? 'Q4_K_M',
        },
        model_info: { 'general.architecture': 'llama', 'llama.embedding_length': dimension },
        capabilities: model.includes('embed') ? ['embedding'] : ['completion', 'tools'],
      },
    };
  }
}
