import type { Attachment } from 'discord.js';
import { deadlineSignal } from '../../services/llm/deadline.ts';

const TEXT_EXTENSIONS =
  /\.(txt|md|markdown|json|csv|tsv|log|ya?ml|toml|xml|html?|css|js|mjs|ts|py|rb|go|rs|java|c|h|cpp|sh|sql)$/i;

export interface ReadAttachments {
  /** `--- name ---` sections to append to the task. */
  text: string;
  /** One line per attachment that was not read, saying why. */
  skipped: string[];
}

export interface ReadAttachmentsOptions {
  /** Deadline for each download, headers and body, in milliseconds (default 10,000). */
  timeoutMs?: number;
  /** Stops every download (shutdown); the read then rejects with the signal's reason. */
  signal?: AbortSignal;
}

export const DEFAULT_ATTACHMENT_TIMEOUT_MS = 10_000;

function isText(attachment: Attachment): boolean {
  const type = attachment.contentType ?? '';
  return type.startsWith('text/') || /json|xml|yaml|toml/.test(type) || TEXT_EXTENSIONS.test(attachment.name);
}

const kb = (bytes: number) => `${Math.ceil(bytes / 1000)} KB`;
const size = (bytes: number) => (bytes < 1000 ? `${bytes} B` : kb(bytes));
const duration = (ms: number) => (ms < 1000 ? `${ms} ms` : `${ms / 1000} s`);

/** Why a download stopped short. */
class Oversize extends Error {}

/**
 * The body of `response`, at most `limit` bytes: reading stops, and the body is cancelled, as
 * soon as more arrive; each read also ends when `signal` aborts (whatever the fetcher does with it).
 */
async function readBody(response: Response, limit: number, signal: AbortSignal): Promise<Buffer> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > limit) {
    void response.body?.cancel().catch(() => undefined);
    throw new Oversize();
  }
  if (!response.body) return Buffer.alloc(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  const aborted = new Promise<never>((_, reject) => {
    const fail = () => reject(signal.reason);
    if (signal.aborted) fail();
    else signal.addEventListener('abort', fail, { once: true });
  });
  aborted.catch(() => undefined);
  try {
    for (;;) {
      const { done, value } = await Promise.race([reader.read(), aborted]);
      if (done) return Buffer.concat(chunks, length);
      length += value.byteLength;
      if (length > limit) throw new Oversize();
      chunks.push(value);
    }
  } finally {
    // Stops the transfer when reading ended early (oversize, deadline); a no-op once it is done.
    void reader.cancel().catch(() => undefined);
  }
}

/**
 * Reads the text attachments of a message, up to `maxBytes` in all; says what it skipped. Each
 * download has a deadline and may not exceed the size the attachment declared (nor what is left
 * of `maxBytes`): a server that hangs or sends more is cut off, and the attachment skipped.
 */
export async function readTextAttachments(
  attachments: Iterable<Attachment>,
  maxBytes: number,
  fetcher: typeof fetch = fetch,
  options: ReadAttachmentsOptions = {},
): Promise<ReadAttachments> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_ATTACHMENT_TIMEOUT_MS;
  const sections: string[] = [];
  const skipped: string[] = [];
  let budget = maxBytes;
  for (const attachment of attachments) {
    if (!isText(attachment)) {
      skipped.push(`\`${attachment.name}\` is not a text file, so I left it out.`);
      continue;
    }
    if (attachment.size > budget) {
      skipped.push(
        `\`${attachment.name}\` is ${kb(attachment.size)}; I read at most ${kb(maxBytes)} of attachments per message (ATTACHMENT_MAX_BYTES), so I left it out.`,
      );
      continue;
    }
    const deadline = deadlineSignal(timeoutMs, options.signal);
    try {
      const response = await fetcher(attachment.url, { signal: deadline.signal });
      if (!response.ok) {
        void response.body?.cancel().catch(() => undefined);
        throw new Error(`HTTP ${response.status}`);
      }
      const body = await readBody(response, Math.min(budget, attachment.size), deadline.signal);
      budget -= body.byteLength;
      sections.push(`--- ${attachment.name} ---\n${body.toString('utf8').trim()}`);
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason;
      if (error instanceof Oversize) {
        skipped.push(
          `\`${attachment.name}\` was larger than it said (over ${size(attachment.size)}), so I stopped reading it and left it out.`,
        );
      } else if (deadline.signal.aborted) {
        skipped.push(
          `\`${attachment.name}\` took longer than ${duration(timeoutMs)} to download, so I left it out.`,
        );
      } else {
        skipped.push(`I could not download \`${attachment.name}\` (${(error as Error).message}).`);
      }
    } finally {
      deadline.clear();
    }
  }
  return { text: sections.join('\n\n'), skipped };
}
