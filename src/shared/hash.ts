import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** Hex sha256 of a text (UTF-8) or of bytes: codex versions, tool code, golden samples. */
export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Hex sha256 of a file, read in chunks: a large file (an adapter's weights) is never held whole to be hashed. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** A sha256 fed piece by piece, whose digest so far can be read at any time without ending it. */
export interface RunningSha256 {
  update(data: string | Uint8Array): void;
  /** Hex sha256 of everything fed so far; feeding may go on after. */
  digest(): string;
}

/** A running sha256: a golden set's file hash, kept up to date as lines are appended. */
export function createRunningSha256(): RunningSha256 {
  const hash = createHash('sha256');
  return {
    update(data) {
      hash.update(data);
    },
    digest: () => hash.copy().digest('hex'),
  };
}
