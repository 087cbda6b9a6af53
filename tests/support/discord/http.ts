/**
 * The HTTP side: each request recorded, routed (or served as an attachment), checked for a bot
 * token, counted against the rate limits and injected faults, handled, and answered as JSON.
 */

import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { serveAttachment } from './attachments.ts';
import { API_PREFIX } from './constants.ts';
import { takeFault } from './faults.ts';
import type { EmulatorState, JsonObject, Route, RouteContext, RouteResult, UploadedFile } from './model.ts';
import { takeBucket, takeGlobal } from './rateLimits.ts';
import { ApiError, errorResult, invalidJson, RateLimitedError } from './results.ts';
import { baseUrl } from './state.ts';
import type { RateLimitRecord, RequestRecord } from './types.ts';

/**
 * One HTTP request: recorded in `requests`, then an attachment download (the CDN) or an API call
 * answered as JSON, with 429s recorded in `rateLimited`. An error that is not Discord's (a bug in
 * the emulator) answers 500 and is kept in the record's `error`.
 */
export async function handleHttp(
  state: EmulatorState,
  routes: readonly Route[],
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const url = new URL(request.url ?? '/', baseUrl(state));
  const method = (request.method ?? 'GET').toUpperCase();
  const isApi = url.pathname.startsWith(`${API_PREFIX}/`);
  const record: RequestRecord = {
    method,
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    body: undefined,
    status: 0,
    at: Date.now(),
    arrivedAt: state.clock(),
  };
  if (request.headers['user-agent']) record.userAgent = request.headers['user-agent'];
  state.requests.push(record);
  let result: RouteResult;
  try {
    const raw = await readBody(request);
    if (!isApi && method === 'GET' && url.pathname.startsWith('/attachments/')) {
      record.route = 'GET /attachments/:channel/:attachment/:filename';
      serveAttachment(state, url.pathname, record, response);
      return;
    }
    result = isApi
      ? await handleApi(state, routes, method, record, request.headers, raw)
      : errorResult(new ApiError(404, 0, '404: Not Found'));
  } catch (error) {
    result = errorResult(error);
    if (!(error instanceof ApiError) && !(error instanceof RateLimitedError)) {
      record.error = error instanceof Error ? (error.stack ?? error.message) : String(error);
    }
  }
  record.status = result.status;
  if (result.limited) {
    const entry: RateLimitRecord = {
      method,
      path: record.path,
      ...result.limited,
      at: record.arrivedAt,
    };
    if (record.route) entry.route = record.route;
    state.rateLimited.push(entry);
  }
  const headers: Record<string, string> = { ...result.headers };
  if (result.status === 204 || result.body === undefined) {
    response.writeHead(result.status, headers);
    response.end();
    return;
  }
  const text = JSON.stringify(result.body);
  response.writeHead(result.status, {
    ...headers,
    'Content-Type': 'application/json',
    'Content-Length': String(Buffer.byteLength(text)),
  });
  response.end(text);
}

/**
 * An API call: route, body, bot token, then the global limit, injected faults and the route's
 * bucket, in that order, before the handler runs.
 */
async function handleApi(
  state: EmulatorState,
  routes: readonly Route[],
  method: string,
  record: RequestRecord,
  headers: IncomingHttpHeaders,
  raw: Buffer,
): Promise<RouteResult> {
  const apiPath = record.path.slice(API_PREFIX.length);
  const match = matchRoute(routes, method, apiPath);
  if (!match) throw new ApiError(404, 0, '404: Not Found');
  const { route, params } = match;
  record.route = `${route.method} ${route.template}`;
  const { body, files } = await parseBody(headers['content-type'] ?? '', raw);
  record.body = body;
  if (files.length > 0) {
    record.files = files.map((file) => ({
      field: file.field,
      filename: file.filename,
      size: file.data.length,
      contentType: file.contentType,
    }));
  }
  const withBotToken = headers.authorization === `Bot ${state.token}`;
  if (route.auth && !withBotToken) {
    throw new ApiError(401, 0, '401: Unauthorized');
  }
  // Discord counts the global limit per bot token; requests without one (webhook tokens) are
  // limited per IP address instead, which the emulator does not model.
  const isInteractionWebhook = params.webhook !== undefined && params.webhook === state.applicationId;
  if (withBotToken && !route.exemptFromGlobal && !isInteractionWebhook) {
    const limited = takeGlobal(state);
    if (limited) return limited;
  }
  const fault = takeFault(state, method, record.path, apiPath);
  if (fault) return fault;
  const context: RouteContext = {
    method,
    path: apiPath,
    query: record.query,
    body,
    files,
    param: (name) => {
      const value = params[name];
      if (value === undefined) throw new Error(`route ${route.template} has no :${name}`);
      return value;
    },
  };
  const bucket = route.bucket?.(state, context);
  let rateHeaders: Record<string, string> = {};
  if (bucket) {
    const taken = takeBucket(state, bucket.key, bucket.hash, bucket.kind);
    if ('limited' in taken) return taken.limited;
    rateHeaders = taken.headers;
  }
  try {
    const result = await route.handler(state, context);
    return { ...result, headers: { ...rateHeaders, ...result.headers } };
  } catch (error) {
    if (!(error instanceof ApiError) && !(error instanceof RateLimitedError)) throw error;
    const result = errorResult(error);
    // A shared-resource 429 still carries the route bucket's headers, as Discord's does.
    return { ...result, headers: { ...rateHeaders, ...result.headers } };
  }
}

/** The first route with this method whose template matches the path, and its parameters. */
function matchRoute(
  routes: readonly Route[],
  method: string,
  path: string,
): { route: Route; params: Record<string, string> } | undefined {
  let segments: string[];
  try {
    segments = path.split('/').filter(Boolean).map(decodeURIComponent);
  } catch {
    return undefined;
  }
  for (const route of routes) {
    if (route.method !== method || route.segments.length !== segments.length) continue;
    const params: Record<string, string> = {};
    const matches = route.segments.every((expected, index) => {
      const actual = segments[index] ?? '';
      if (expected.startsWith(':')) {
        params[expected.slice(1)] = actual;
        return true;
      }
      return expected === actual;
    });
    if (matches) return { route, params };
  }
  return undefined;
}

/** The whole request body. */
async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** JSON, or multipart with `payload_json` and `files[n]` (Node's fetch `Request` parses it). */
async function parseBody(
  contentType: string,
  raw: Buffer,
): Promise<{ body: unknown; files: UploadedFile[] }> {
  if (raw.length === 0) return { body: undefined, files: [] };
  if (contentType.startsWith('multipart/form-data')) {
    const form = await new Request('http://emulator.invalid/', {
      method: 'POST',
      headers: { 'content-type': contentType },
      body: raw,
    }).formData();
    const fields: JsonObject = {};
    let body: unknown;
    const files: UploadedFile[] = [];
    for (const [field, value] of form.entries()) {
      if (typeof value !== 'string') {
        files.push({
          field,
          filename: value.name,
          contentType: value.type,
          data: Buffer.from(await value.arrayBuffer()),
        });
      } else if (field === 'payload_json') {
        body = parseJson(value);
      } else {
        fields[field] = value;
      }
    }
    return { body: body ?? fields, files };
  }
  return { body: parseJson(raw.toString('utf8')), files: [] };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw invalidJson();
  }
}
