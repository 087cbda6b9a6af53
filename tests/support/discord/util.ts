/** Small helpers with no emulator state: JSON shape checks, tokens, hashes, times, content types, polling. */

import { createHash, randomBytes } from 'node:crypto';
import type { JsonObject } from './model.ts';
import type { MessagePayloadRecord, RequestRecord } from './types.ts';

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function randomToken(bytes: number): string {
  return randomBytes(bytes).toString('base64url');
}

export function shortHash(text: string): string {
  return createHash('sha1').update(text).digest('hex').slice(0, 32);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function nowIso(): string {
  return new Date().toISOString();
}

/** A body the bot sent, copied for `InteractionRecord` (`{}` when it was not an object). */
export function payloadRecord(body: unknown): MessagePayloadRecord {
  return isObject(body) ? structuredClone(body) : {};
}

const CONTENT_TYPES: Record<string, string> = {
  txt: 'text/plain; charset=utf-8',
  md: 'text/markdown; charset=utf-8',
  json: 'application/json; charset=utf-8',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  pdf: 'application/pdf',
};

export function guessContentType(filename: string): string | undefined {
  const extension = filename.split('.').pop()?.toLowerCase() ?? '';
  return CONTENT_TYPES[extension];
}

/**
 * Polls `check` (it may be async) every 10 ms until it returns something other than undefined/null/false; on
 * timeout the error names the check, its last error and the last requests (`DiscordEmulator.waitFor`).
 */
export async function waitFor<T>(
  check: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  timeoutMs: number,
  requests: readonly RequestRecord[],
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== null && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) break;
    await sleep(10);
  }
  const recent = requests
    .slice(-8)
    .map((r) => `${r.method} ${r.path} → ${r.status}`)
    .join('; ');
  const detail = lastError instanceof Error ? ` Last error: ${lastError.message}.` : '';
  throw new Error(
    `waitFor timed out after ${timeoutMs} ms: ${check.toString().slice(0, 200)}.${detail} Recent requests: ${recent || 'none'}`,
  );
}
