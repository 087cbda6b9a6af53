import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { basename } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { sha256File } from '../../shared/hash.ts';
import { withoutHostDetails } from '../../shared/hostDetails.ts';
import { AppError } from '../errors.ts';
import { deadlineSignal } from '../llm/deadline.ts';
import { UNREACHABLE_IN_PUBLIC } from '../llm/ollamaErrors.ts';

/**
 * Ollama's HTTP API as the fine-tuning loop uses it (`docs/OLLAMA.md`): one request with a
 * deadline, Ollama's refusals in its own words, and files pushed as blobs — streamed from disk
 * and hashed in chunks, because a merged model's shards are gigabytes each.
 */

/** Where Ollama listens, and how long a request may take (default). */
export interface OllamaEndpoint {
  host: string;
  timeoutMs: number;
}

/**
 * Least upload speed a blob's deadline allows for: a 5 GB shard gets its 5 minutes and 100 s
 * more. A deadline on the whole request, not on its silence, so it must grow with the file.
 */
const UPLOAD_BYTES_PER_S = 50_000_000;
/** Chunks read from disk and sent: big enough to keep the socket busy, small enough to stay out of the way. */
const CHUNK_BYTES = 1 << 20;

/** One request to Ollama; unreachable (or too slow) is an operational, retryable error. */
export async function call(
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
      { cause: error, retryable: true, publicMessage: UNREACHABLE_IN_PUBLIC },
    );
  } finally {
    deadline.clear();
  }
}

/** A JSON request to Ollama. */
export const postJson = (endpoint: OllamaEndpoint, path: string, body: unknown, timeoutMs?: number) =>
  call(endpoint, path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
    ...(timeoutMs ? { timeoutMs } : {}),
  });

/** The error for a request Ollama answered with a failure, with its own reason when it gave one. */
export async function refused(response: Response, what: string): Promise<AppError> {
  const body = (await response.json().catch(() => ({}))) as { error?: string };
  return new AppError(
    'OLLAMA_ERROR',
    'operational',
    `Ollama refused to ${what}: ${body.error ?? `HTTP ${response.status}`}`,
  );
}

/** A file to push, under the name the model's `files` (or `adapters`) will give it. */
export interface BlobFile {
  name: string;
  path: string;
}

export interface BlobUpload {
  /** Each file's name → its blob's `sha256:<hex>`. */
  digests: Record<string, string>;
  /** Bytes sent, files sent, files Ollama already had. */
  bytes: number;
  /** Bytes of all the files, sent or not. */
  total: number;
  uploaded: number;
  reused: number;
}

/**
 * POSTs a file's bytes, read from disk as the socket takes them. Not with fetch: Node 20's fetch
 * reads a streamed body as fast as the disk gives it, whatever the socket takes, and holds the
 * difference in memory (a 512 MB file cost 560 MB; its test is in ollamaRegistrar.test.ts).
 * `http.request` with a pipeline waits for the socket to drain.
 */
async function postFile(
  endpoint: OllamaEndpoint,
  route: string,
  path: string,
  size: number,
  timeoutMs: number,
): Promise<Response> {
  const url = new URL(`${endpoint.host}${route}`);
  const deadline = deadlineSignal(timeoutMs);
  try {
    return await new Promise<Response>((resolve, reject) => {
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      const request = send(
        url,
        {
          method: 'POST',
          headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': size },
          signal: deadline.signal,
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', reject);
          response.on('end', () =>
            resolve(new Response(Buffer.concat(chunks), { status: response.statusCode ?? 500 })),
          );
        },
      );
      request.on('error', reject);
      // A server that answers before the end (a refusal) closes the pipe: its answer is what counts.
      pipeline(createReadStream(path, { highWaterMark: CHUNK_BYTES }), request).catch(reject);
    });
  } catch (error) {
    throw new AppError(
      'OLLAMA_UNREACHABLE',
      'operational',
      `cannot send ${path} to Ollama at ${endpoint.host}: ${(error as Error).message}`,
      {
        cause: error,
        retryable: true,
        publicMessage: `cannot send ${basename(path)} to Ollama: ${withoutHostDetails((error as Error).message)}`,
      },
    );
  } finally {
    deadline.clear();
  }
}

/**
 * Pushes files as blobs, one after another, skipping those Ollama has (`HEAD`). Each file is
 * hashed in chunks, then sent as it is read from disk: neither the hash nor the upload holds a
 * file whole, and the event loop gets a turn between chunks.
 */
export async function uploadBlobs(endpoint: OllamaEndpoint, files: readonly BlobFile[]): Promise<BlobUpload> {
  const result: BlobUpload = { digests: {}, bytes: 0, total: 0, uploaded: 0, reused: 0 };
  for (const file of files) {
    const digest = `sha256:${await sha256File(file.path)}`;
    result.digests[file.name] = digest;
    const { size } = await stat(file.path);
    result.total += size;
    const head = await call(endpoint, `/api/blobs/${digest}`, { method: 'HEAD' });
    if (head.ok) {
      result.reused++;
      continue;
    }
    const upload = await postFile(
      endpoint,
      `/api/blobs/${digest}`,
      file.path,
      size,
      endpoint.timeoutMs + Math.ceil((size / UPLOAD_BYTES_PER_S) * 1000),
    );
    if (!upload.ok) throw await refused(upload, `store ${file.name}`);
    result.uploaded++;
    result.bytes += size;
  }
  return result;
}
