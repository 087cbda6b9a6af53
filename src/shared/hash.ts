import { createHash } from 'node:crypto';

/** Hex sha256 of a text (UTF-8) or of bytes: codex versions, tool code, golden samples. */
export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
