import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, posix } from 'node:path';
import { fakeEmbedding, type Reply } from './ollamaEmulator.ts';
import { waitUnlessClosed } from './socketWait.ts';

/**
 * A server on 127.0.0.1 that speaks the OpenAI HTTP API as vLLM, llama.cpp's server, LM Studio
 * or LiteLLM do (`/v1/chat/completions` with and without SSE streaming, `/v1/embeddings`,
 * `/v1/models`), with scripted answers and OpenAI's error shape, so the real `@langchain/openai`
 * client can be tested end to end.
 *
 * Like a vLLM started with `--enable-lora` and `VLLM_ALLOW_RUNTIME_LORA_UPDATING=True`, it loads
 * LoRA adapters at run time (`POST /v1/load_lora_adapter {lora_name, lora_path}`, unloaded with
 * `/v1/unload_lora_adapter`), reading `lora_path` from its own view of the disk (`mounts`), lists
 * them in `/v1/models` and serves chat under their names, with vLLM's answers and errors.
 * `runtimeLora: false` makes a plain OpenAI-compatible server (llama.cpp's, a hosted API): the
 * routes are unknown there; `enableLora: false` a vLLM with the routes but without `--enable-lora`.
 */

export interface OpenAIEmulatorOptions {
  models?: string[];
  apiKey?: string;
  embeddingDimension?: number;
  /** Whether it has vLLM's runtime LoRA routes (default true). */
  runtimeLora?: boolean;
  /** Whether vLLM was started with `--enable-lora` (default true). */
  enableLora?: boolean;
  /** How the server sees the disk: a path it is given → the folder it is on this host (default: the same paths). */
  mounts?: Record<string, string>;
}

/** An adapter loaded at run time. */
export interface LoadedAdapter {
  name: string;
  /** The path as the server was given it, and where that is on this host. */
  path: string;
  localPath: string;
}

export interface OpenAIChatRequest {
  model: string;
  messages: Array<{ role: string; content: string }>;
  body: Record<string, unknown>;
}

export class OpenAIEmulator {
  readonly requests: Array<{ method: string; path: string; body: unknown; authorization?: string }> = [];
  readonly models = new Set<string>();
  /** Adapters loaded at run time, by name. */
  readonly adapters = new Map<string, LoadedAdapter>();
  /** How the server sees the disk: a path it is given → the folder it is on this host (add to it at will). */
  readonly mounts: Record<string, string>;
  private readonly scripts = new Map<string, Reply[]>();
  private responder: ((request: OpenAIChatRequest) => Reply | Promise<Reply>) | undefined;
  private readonly sockets = new Set<import('node:net').Socket>();

  private constructor(
    private readonly server: Server,
    private readonly apiKey: string | undefined,
    models: string[],
    readonly dimension: number,
    private readonly lora: Required<Pick<OpenAIEmulatorOptions, 'runtimeLora' | 'enableLora'>>,
    mounts: Record<string, string>,
  ) {
    this.mounts = { ...mounts };
    for (const model of models) this.models.add(model);
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  static async start(options: OpenAIEmulatorOptions = {}): Promise<OpenAIEmulator> {
    let emulator: OpenAIEmulator | undefined;
    const server = createServer((req, res) => {
      emulator?.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) emulator?.error(res, 500, String(error), 'server_error');
        else res.destroy();
      });
    });
    emulator = new OpenAIEmulator(
      server,
      options.apiKey,
      options.models ?? [],
      options.embeddingDimension ?? 64,
      { runtimeLora: options.runtimeLora ?? true, enableLora: options.enableLora ?? true },
      options.mounts ?? {},
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return emulator;
  }

  /** The base URL, `/v1` included, for OPENAI_BASE_URL. */
  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
  }

  script(model: string, replies: Reply[]): this {
    this.scripts.set(model, [...(this.scripts.get(model) ?? []), ...replies]);
    return this;
  }

  respond(responder: (request: OpenAIChatRequest) => Reply | Promise<Reply>): this {
    this.responder = responder;
    return this;
  }

  chats(model?: string): OpenAIChatRequest[] {
    return this.requests
      .filter((r) => r.path === '/v1/chat/completions')
      .map((r) => r.body as Record<string, unknown>)
      .filter((body) => !model || body.model === model)
      .map((body) => ({
        model: String(body.model),
        messages: (body.messages as OpenAIChatRequest['messages']) ?? [],
        body,
      }));
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  private error(res: ServerResponse, status: number, message: string, type: string, code?: string): void {
    this.json(res, status, { error: { message, type, param: null, code: code ?? null } });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: Record<string, unknown> = {};
    try {
      body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
    } catch {
      return this.error(
        res,
        400,
        'We could not parse the JSON body of your request.',
        'invalid_request_error',
      );
    }
    const authorization = req.headers.authorization;
    this.requests.push({
      method: req.method ?? 'GET',
      path: url.pathname,
      body,
      ...(authorization ? { authorization } : {}),
    });
    if (this.apiKey && authorization !== `Bearer ${this.apiKey}`) {
      return this.error(res, 401, 'Incorrect API key provided.', 'invalid_request_error', 'invalid_api_key');
    }
    const route = `${req.method} ${url.pathname}`;
    if (route === 'GET /v1/models') {
      const base = [...this.models][0] ?? null;
      return this.json(res, 200, {
        object: 'list',
        data: [
          ...[...this.models].map((id) => ({
            id,
            object: 'model',
            owned_by: 'emulator',
            root: id,
            parent: null,
          })),
          // vLLM lists each loaded adapter as a model whose parent is the base.
          ...[...this.adapters.values()].map((a) => ({
            id: a.name,
            object: 'model',
            owned_by: 'vllm',
            root: a.path,
            parent: base,
          })),
        ],
      });
    }
    if (this.lora.runtimeLora && route === 'POST /v1/load_lora_adapter') return this.loadAdapter(body, res);
    if (this.lora.runtimeLora && route === 'POST /v1/unload_lora_adapter')
      return this.unloadAdapter(body, res);
    if (route === 'POST /v1/embeddings') {
      const model = String(body.model ?? '');
      if (!this.models.has(model)) return this.modelMissing(res, model);
      const inputs = Array.isArray(body.input) ? body.input.map(String) : [String(body.input ?? '')];
      return this.json(res, 200, {
        object: 'list',
        model,
        data: inputs.map((text, index) => {
          const vector = fakeEmbedding(text, this.dimension);
          // OpenAI's own encoding when asked: little-endian float32, base64.
          const embedding =
            body.encoding_format === 'base64'
              ? Buffer.from(new Float32Array(vector).buffer).toString('base64')
              : vector;
          return { object: 'embedding', index, embedding };
        }),
        usage: { prompt_tokens: 1, total_tokens: 1 },
      });
    }
    if (route === 'POST /v1/chat/completions') return this.complete(body, req, res);
    return this.error(
      res,
      404,
      `Unknown request URL: ${req.method} ${url.pathname}.`,
      'invalid_request_error',
    );
  }

  /** vLLM's error body: `{error: {message, type, param, code}}`, the code the HTTP status. */
  private vllmError(res: ServerResponse, status: number, message: string, type: string): void {
    this.json(res, status, { error: { message, type, param: null, code: status } });
  }

  /** Where a path the server is given lies on this host (its mounts applied). */
  private onHost(path: string): string {
    for (const [mount, local] of Object.entries(this.mounts)) {
      if (path === mount || path.startsWith(`${mount}/`))
        return join(local, ...posix.relative(mount, path).split('/'));
    }
    return path;
  }

  /** vLLM's `/v1/load_lora_adapter`: checks as vLLM does, then the adapter serves under its name. */
  private loadAdapter(body: Record<string, unknown>, res: ServerResponse) {
    const name = typeof body.lora_name === 'string' ? body.lora_name : '';
    const path = typeof body.lora_path === 'string' ? body.lora_path : '';
    if (!name || !path)
      return this.vllmError(
        res,
        400,
        "Both 'lora_name' and 'lora_path' must be provided.",
        'InvalidUserInput',
      );
    if (this.adapters.has(name))
      return this.vllmError(
        res,
        400,
        `The lora adapter '${name}' has already been loaded.`,
        'InvalidUserInput',
      );
    if (!this.lora.enableLora)
      return this.vllmError(
        res,
        400,
        'LoRA is not enabled. Use --enable-lora to enable LoRA.',
        'BadRequestError',
      );
    const localPath = this.onHost(path);
    if (
      !existsSync(join(localPath, 'adapter_config.json')) ||
      !existsSync(join(localPath, 'adapter_model.safetensors'))
    )
      return this.vllmError(
        res,
        404,
        `Loading lora ${name} failed: No adapter found for ${path}`,
        'NotFoundError',
      );
    this.adapters.set(name, { name, path, localPath });
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end(`Success: LoRA adapter '${name}' added successfully.`);
  }

  /** vLLM's `/v1/unload_lora_adapter`. */
  private unloadAdapter(body: Record<string, unknown>, res: ServerResponse) {
    const name = typeof body.lora_name === 'string' ? body.lora_name : '';
    if (!name)
      return this.vllmError(
        res,
        400,
        "either 'lora_name' and 'lora_int_id' needs to be provided.",
        'InvalidUserInput',
      );
    if (!this.adapters.delete(name))
      return this.vllmError(res, 404, `The lora adapter '${name}' cannot be found.`, 'NotFoundError');
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end(`Success: LoRA adapter '${name}' removed successfully.`);
  }

  /** OpenAI's answer for a model it does not serve. */
  private modelMissing(res: ServerResponse, model: string): void {
    this.error(
      res,
      404,
      `The model \`${model}\` does not exist.`,
      'invalid_request_error',
      'model_not_found',
    );
  }

  private async complete(
    body: Record<string, unknown>,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    const model = String(body.model ?? '');
    if (!this.models.has(model) && !this.adapters.has(model)) return this.modelMissing(res, model);
    const request: OpenAIChatRequest = {
      model,
      messages: (body.messages as OpenAIChatRequest['messages']) ?? [],
      body,
    };
    const reply =
      this.scripts.get(model)?.shift() ??
      (this.responder ? await this.responder(request) : `(emulator: nothing scripted for ${model})`);
    const answer = typeof reply === 'string' ? { content: reply } : reply;
    if (answer.delayMs) {
      if (await waitUnlessClosed(req.socket, answer.delayMs)) return;
    }
    if (answer.hangUp) {
      req.socket.destroy();
      return;
    }
    if (answer.status) {
      const type =
        answer.status === 429
          ? 'rate_limit_exceeded'
          : answer.status >= 500
            ? 'server_error'
            : 'invalid_request_error';
      return this.error(res, answer.status, answer.error ?? 'error', type);
    }
    const content = answer.content ?? '';
    const id = `chatcmpl-${randomUUID()}`;
    const created = Math.floor(Date.now() / 1000);
    if (body.stream !== true) {
      return this.json(res, 200, {
        id,
        object: 'chat.completion',
        created,
        model,
        choices: [
          { index: 0, message: { role: 'assistant', content }, finish_reason: 'stop', logprobs: null },
        ],
        usage: {
          prompt_tokens: 10,
          completion_tokens: Math.ceil(content.length / 4),
          total_tokens: 10 + Math.ceil(content.length / 4),
        },
      });
    }
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
    const send = (delta: Record<string, unknown>, finish: string | null = null) =>
      res.write(
        `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`,
      );
    send({ role: 'assistant', content: '' });
    const pieces = content.match(/[\s\S]{1,12}/g) ?? [];
    const cut = answer.failMidStream ? Math.ceil(pieces.length / 2) : pieces.length;
    for (const piece of pieces.slice(0, cut)) send({ content: piece });
    if (answer.failMidStream) {
      res.end(
        `data: ${JSON.stringify({ error: { message: answer.failMidStream, type: 'server_error' } })}\n\n`,
      );
      return;
    }
    send({}, 'stop');
    res.end('data: [DONE]\n\n');
  }
}
