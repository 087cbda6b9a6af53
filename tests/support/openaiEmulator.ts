import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fakeEmbedding, type Reply } from './ollamaEmulator.ts';
import { waitUnlessClosed } from './socketWait.ts';

/**
 * A server on 127.0.0.1 that speaks the OpenAI HTTP API as vLLM, llama.cpp's server, LM Studio
 * or LiteLLM do (`/v1/chat/completions` with and without SSE streaming, `/v1/embeddings`,
 * `/v1/models`), with scripted answers and OpenAI's error shape, so the real `@langchain/openai`
 * client can be tested end to end.
 */

export interface OpenAIChatRequest {
  model: string;
  messages: Array<{ role: string; content: string }>;
  body: Record<string, unknown>;
}

export class OpenAIEmulator {
  readonly requests: Array<{ method: string; path: string; body: unknown; authorization?: string }> = [];
  readonly models = new Set<string>();
  private readonly scripts = new Map<string, Reply[]>();
  private responder: ((request: OpenAIChatRequest) => Reply | Promise<Reply>) | undefined;
  private readonly sockets = new Set<import('node:net').Socket>();

  private constructor(
    private readonly server: Server,
    private readonly apiKey: string | undefined,
    models: string[],
    readonly dimension: number,
  ) {
    for (const model of models) this.models.add(model);
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  static async start(
    options: { models?: string[]; apiKey?: string; embeddingDimension?: number } = {},
  ): Promise<OpenAIEmulator> {
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
      return this.json(res, 200, {
        object: 'list',
        data: [...this.models].map((id) => ({ id, object: 'model', owned_by: 'emulator' })),
      });
    }
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
    if (!this.models.has(model)) return this.modelMissing(res, model);
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
