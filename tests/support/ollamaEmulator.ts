import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Answer, fullName, OllamaRegistry } from './ollamaRegistry.ts';
import { waitUnlessClosed } from './socketWait.ts';

export type { CreatedModel, StoredBlob } from './ollamaRegistry.ts';
export { ADAPTERS_REFUSED, OLLAMA_EMULATOR_VERSION } from './ollamaRegistry.ts';

/**
 * An Ollama server on 127.0.0.1 that speaks Ollama's HTTP API (docs/OLLAMA.md) with scripted
 * answers, so the real `@langchain/ollama` client can be tested end to end.
 */

export interface ChatMessageRecord {
  role: string;
  content: string;
}

/** What a responder sees of a request. */
export interface EmulatedRequest {
  endpoint: '/api/chat' | '/api/generate';
  model: string;
  messages: ChatMessageRecord[];
  /** For /api/generate. */
  prompt?: string;
  body: Record<string, unknown>;
}

/** A scripted answer: text, or a fault. */
export type Reply =
  | string
  | {
      content?: string;
      /** Answer with this HTTP status and `{error}` instead. */
      status?: number;
      error?: string;
      /** Wait before answering (timeouts). */
      delayMs?: number;
      /** Stream part of the answer, then a final `{error}` line instead of `done: true`. */
      failMidStream?: string;
      /** Close the connection without an answer. */
      hangUp?: boolean;
      /** Streamed: wait this long between pieces (12 characters each). */
      pieceDelayMs?: number;
      /** Streamed: after this many pieces, wait for `until` before the rest. */
      holdAfter?: { pieces: number; until: Promise<unknown> };
    };

export type Responder = (request: EmulatedRequest) => Reply | Promise<Reply>;

export interface RequestRecord {
  method: string;
  path: string;
  body: unknown;
}

export interface OllamaEmulatorOptions {
  /** Models the server "has pulled", as `name[:tag]`. */
  models?: string[];
  /** Dimension of `/api/embed` vectors. Default 64. */
  embeddingDimension?: number;
  /** The version it reports (`/api/version`); from 0.34.1 it refuses `adapters`. Default: a current one. */
  version?: string;
}

function digestOf(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Deterministic embedding: hashed bag of words, L2-normalised, as Ollama's are. */
export function fakeEmbedding(text: string, dimension: number): number[] {
  const vector = new Array<number>(dimension).fill(0);
  for (const word of text.toLowerCase().match(/[a-z0-9]+/g) ?? []) {
    const hash = createHash('sha256').update(word).digest();
    const index = hash.readUInt32LE(0) % dimension;
    vector[index] = (vector[index] ?? 0) + (hash[4]! % 2 === 0 ? 1 : -1) * (1 + (hash[5]! % 4) / 4);
  }
  const norm = Math.hypot(...vector) || 1;
  return vector.map((value) => value / norm);
}

export class OllamaEmulator {
  readonly requests: RequestRecord[] = [];
  /** When each streamed answer's first piece went out (`performance.now()`), in order. */
  readonly firstPieces: Array<{ model: string; at: number }> = [];
  /** Pulled and created models, blobs, and how each model is prompted (`ollamaRegistry.ts`). */
  readonly registry = new OllamaRegistry();
  readonly models = this.registry.models;
  /** Blobs uploaded with `POST /api/blobs/sha256:<hex>`, by digest (sizes; bytes up to 1 MiB). */
  readonly blobs = this.registry.blobs;
  /** Models made with `/api/create`, by full name. */
  readonly created = this.registry.created;
  /** Names `/api/pull` cannot find in the library (every other name pulls). */
  readonly unpullable = new Set<string>();
  /** How a base model is prompted (its template, parameters, system), by full name; default Llama 3.1's. */
  readonly prompting = this.registry.prompting;
  /** Models loaded now (a chat or generate loads one; `keep_alive: 0` unloads it), as `/api/ps` shows. */
  readonly loaded = new Set<string>();
  private readonly scripts = new Map<string, Reply[]>();
  private responder: Responder | undefined;
  /** Dimension of `/api/embed` vectors; change it to emulate a new embedding model. */
  dimension: number;
  private readonly sockets = new Set<import('node:net').Socket>();

  private constructor(
    private readonly server: Server,
    options: OllamaEmulatorOptions,
  ) {
    for (const model of options.models ?? []) this.models.add(fullName(model));
    if (options.version) this.registry.version = options.version;
    this.dimension = options.embeddingDimension ?? 64;
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  static async start(options: OllamaEmulatorOptions = {}): Promise<OllamaEmulator> {
    let emulator: OllamaEmulator | undefined;
    const server = createServer((req, res) => {
      emulator?.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) emulator?.json(res, 500, { error: String(error) });
        else res.destroy();
      });
    });
    emulator = new OllamaEmulator(server, options);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return emulator;
  }

  /** The version `/api/version` reports; set it to emulate an older (below 0.34.1: adapters taken) or newer server. */
  get version(): string {
    return this.registry.version;
  }
  set version(version: string) {
    this.registry.version = version;
  }

  /** Answer `/api/create` with this error once (a refusal), when set. */
  get failCreate(): { status: number; error: string } | undefined {
    return this.registry.failCreate;
  }
  set failCreate(failure: { status: number; error: string } | undefined) {
    this.registry.failCreate = failure;
  }

  /** `http://127.0.0.1:PORT`, for OLLAMA_HOST. */
  get url(): string {
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  /** Queues answers for one model, used in order before the responder. */
  script(model: string, replies: Reply[]): this {
    const name = fullName(model);
    this.scripts.set(name, [...(this.scripts.get(name) ?? []), ...replies]);
    return this;
  }

  /** Answers whatever no script covers. */
  respond(responder: Responder): this {
    this.responder = responder;
    return this;
  }

  /** The bodies of the chat requests, optionally for one model. */
  chats(model?: string): EmulatedRequest[] {
    return this.requests
      .filter((r) => r.path === '/api/chat' && r.method === 'POST')
      .map((r) => r.body as Record<string, unknown>)
      .filter((body) => !model || fullName(String(body.model)) === fullName(model))
      .map((body) => ({
        endpoint: '/api/chat' as const,
        model: String(body.model),
        messages: (body.messages as ChatMessageRecord[]) ?? [],
        body,
      }));
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': Buffer.byteLength(text),
    });
    res.end(text);
  }

  private async readBody(req: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }

  private answer(res: ServerResponse, answer: Answer): void {
    if (answer.ndjson) {
      res.writeHead(answer.status, { 'Content-Type': 'application/x-ndjson' });
      res.end(`${answer.ndjson.map((line) => JSON.stringify(line)).join('\n')}\n`);
    } else if (answer.body !== undefined) this.json(res, answer.status, answer.body);
    else {
      res.writeHead(answer.status);
      res.end();
    }
  }

  private notFound(model: string) {
    return { error: `model "${model}" not found, try pulling it first` };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = req.method ?? 'GET';
    if (url.pathname.startsWith('/api/blobs/')) {
      const digest = url.pathname.slice('/api/blobs/'.length);
      this.requests.push({ method, path: `/api/blobs/${digest}`, body: null });
      this.answer(res, await this.registry.blob(method, digest, req));
      return;
    }
    const raw = method === 'GET' || method === 'HEAD' ? '' : await this.readBody(req);
    let body: Record<string, unknown> = {};
    if (raw) {
      try {
        body = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        this.requests.push({ method, path: url.pathname, body: raw });
        this.json(res, 400, { error: 'invalid character in JSON body' });
        return;
      }
    }
    this.requests.push({ method, path: url.pathname, body });
    const route = `${method} ${url.pathname}`;
    switch (route) {
      case 'GET /':
      case 'HEAD /':
        res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end('Ollama is running');
        return;
      case 'GET /api/version':
        this.json(res, 200, { version: this.registry.version });
        return;
      case 'GET /api/tags':
        this.json(res, 200, {
          models: [...this.models].map((name) => ({
            name,
            model: name,
            modified_at: new Date(0).toISOString(),
            size: 4_920_000_000,
            digest: digestOf(name),
            details: {
              format: 'gguf',
              family: 'llama',
              parameter_size: '8.0B',
              quantization_level: 'Q4_K_M',
            },
          })),
        });
        return;
      case 'GET /api/ps':
        this.json(res, 200, {
          models: [...this.loaded].map((name) => ({ name, model: name, size_vram: 5_000_000_000 })),
        });
        return;
      case 'POST /api/create':
        this.answer(res, this.registry.create(body));
        return;
      case 'DELETE /api/delete': {
        const model = fullName(String(body.model ?? ''));
        if (!this.models.delete(model)) return this.json(res, 404, this.notFound(model));
        this.created.delete(model);
        this.json(res, 200, {});
        return;
      }
      case 'POST /api/pull': {
        // As Ollama streams a pull: the manifest, a layer in halves, success; a name the library
        // lacks ends the stream with an error line.
        const model = fullName(String(body.model ?? body.name ?? ''));
        const digest = `sha256:${digestOf(model)}`;
        if (this.unpullable.has(model)) {
          this.answer(res, {
            status: 200,
            ndjson: [{ status: 'pulling manifest' }, { error: 'pull model manifest: file does not exist' }],
          });
          return;
        }
        this.models.add(model);
        const total = 4_920_000_000;
        this.answer(res, {
          status: 200,
          ndjson: [
            { status: 'pulling manifest' },
            { status: `pulling ${digest.slice(7, 19)}`, digest, total, completed: total / 2 },
            { status: `pulling ${digest.slice(7, 19)}`, digest, total, completed: total },
            { status: 'verifying sha256 digest' },
            { status: 'writing manifest' },
            { status: 'success' },
          ],
        });
        return;
      }
      case 'POST /api/show':
        this.answer(res, this.registry.show(String(body.model ?? body.name ?? ''), this.dimension));
        return;
      case 'POST /api/embed': {
        const model = String(body.model ?? '');
        if (!model) return this.json(res, 400, { error: 'model is required' });
        if (!this.models.has(fullName(model))) return this.json(res, 404, this.notFound(model));
        const input = body.input;
        const texts = Array.isArray(input) ? input.map(String) : [String(input ?? '')];
        this.json(res, 200, { model, embeddings: texts.map((text) => fakeEmbedding(text, this.dimension)) });
        return;
      }
      case 'POST /api/chat':
      case 'POST /api/generate':
        await this.generate(url.pathname as EmulatedRequest['endpoint'], body, req, res);
        return;
      default:
        res.writeHead(404, { 'Content-Type': 'text/plain' });
        res.end('404 page not found');
    }
  }

  private async generate(
    endpoint: EmulatedRequest['endpoint'],
    body: Record<string, unknown>,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    const model = String(body.model ?? '');
    if (!model) return this.json(res, 400, { error: 'model is required' });
    if (!this.models.has(fullName(model))) return this.json(res, 404, this.notFound(model));
    // keep_alive 0 unloads; a request with nothing to say only loads (Ollama's warm-up).
    const empty =
      endpoint === '/api/chat' ? !Array.isArray(body.messages) || body.messages.length === 0 : !body.prompt;
    if (body.keep_alive === 0 || body.keep_alive === '0') this.loaded.delete(fullName(model));
    else this.loaded.add(fullName(model));
    if (empty) {
      this.json(res, 200, {
        model,
        created_at: new Date().toISOString(),
        ...(endpoint === '/api/chat' ? { message: { role: 'assistant', content: '' } } : { response: '' }),
        done: true,
        done_reason: body.keep_alive === 0 || body.keep_alive === '0' ? 'unload' : 'load',
      });
      return;
    }
    const request: EmulatedRequest = {
      endpoint,
      model,
      messages: (body.messages as ChatMessageRecord[] | undefined) ?? [],
      body,
    };
    if (typeof body.prompt === 'string') request.prompt = body.prompt;
    const queued = this.scripts.get(fullName(model));
    const scripted = queued?.shift();
    const reply: Reply =
      scripted ??
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
      this.json(res, answer.status, { error: answer.error ?? 'internal error' });
      return;
    }
    const content = answer.content ?? '';
    const created_at = new Date().toISOString();
    const piece = (text: string) =>
      endpoint === '/api/chat' ? { message: { role: 'assistant', content: text } } : { response: text };
    const stats = {
      done_reason: 'stop',
      total_duration: 1_000_000,
      load_duration: 100_000,
      prompt_eval_count: request.messages.reduce((n, m) => n + m.content.length, 0) / 4,
      prompt_eval_duration: 200_000,
      eval_count: Math.ceil(content.length / 4),
      eval_duration: 700_000,
    };
    const chunks = content.match(/[\s\S]{1,12}/g) ?? [];
    if (body.stream === false) {
      // Unstreamed, the answer takes as long to write; only its first piece was ready sooner.
      this.firstPieces.push({ model, at: performance.now() });
      const delay = (answer.pieceDelayMs ?? 0) * (chunks.length - 1);
      if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
      this.json(res, 200, { model, created_at, ...piece(content), done: true, ...stats });
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
    const cut = answer.failMidStream ? Math.ceil(chunks.length / 2) : chunks.length;
    let sent = 0;
    this.firstPieces.push({ model, at: performance.now() });
    for (const chunk of chunks.slice(0, cut)) {
      if (answer.holdAfter && sent === answer.holdAfter.pieces) await answer.holdAfter.until;
      if (answer.pieceDelayMs && sent > 0)
        await new Promise((resolve) => setTimeout(resolve, answer.pieceDelayMs));
      if (res.destroyed) return;
      res.write(`${JSON.stringify({ model, created_at, ...piece(chunk), done: false })}\n`);
      sent += 1;
    }
    if (answer.failMidStream) {
      res.end(`${JSON.stringify({ error: answer.failMidStream })}\n`);
      return;
    }
    res.end(`${JSON.stringify({ model, created_at, ...piece(''), done: true, ...stats })}\n`);
  }
}
