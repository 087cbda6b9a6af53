/**
 * What may be said in public about a failure. A server's address, an absolute path or a command
 * line tells a reader how the host is laid out, which is the operator's business: public replies
 * say what went wrong in words, and the details go to the log (and to an architect, privately).
 *
 * Errors that know their host details say so by structure (an AppError's `publicMessage`); the
 * scrub below is the safety net for text nobody wrote for the public (a trainer's log, a
 * server's own reason, an error of a library).
 */

/** What takes the place of an address, and of a command line. */
export const ADDRESS = '‹address›';
export const COMMAND_LINE = '‹command line›';

const URL = /\b[a-z][a-z\d+.-]*:\/\/[^\s<>"'`)\]]+/gi;
/** An IPv4 address, with its port if any, and `localhost:<port>`: what Node's network errors name. */
const HOST = /\b(?:\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?|localhost:\d{1,5})\b/gi;
/**
 * An absolute POSIX path of two segments or more (`/data/finetune/ft1`), or one in a home folder
 * (`~/x`). One segment alone (`/tmp`) says little, and is what a slash command looks like.
 */
const POSIX_PATH = /(?<![\w.~/<-])~?\/(?:[\w.@%+~-]+\/)+[\w.@%+~-]*/g;
const WINDOWS_PATH = /\b[A-Za-z]:\\[^\s'"`<>|]+/g;
/** A command line as logs echo it (`$ python train.py --dataset …`). */
const ECHOED_COMMAND = /^(\s*)\$ .*$/gm;
/** An HTTP API's routes are no host detail: `POST /v1/load_lora_adapter`, `/api/create`. */
const API_ROUTE = /^\/(?:v\d+|api)\//;
const TRAILING_PUNCTUATION = /[.,:;!?]+$/;

/** The last part of a path, behind an ellipsis: `/data/finetune/ft1/adapter` → `…/adapter`. */
function shortPath(path: string, separator: '/' | '\\'): string {
  const parts = path.split(separator).filter(Boolean);
  return `…${separator}${parts.at(-1) ?? ''}`;
}

/**
 * `text` without the host's details: URLs and network addresses become {@link ADDRESS},
 * absolute paths keep only their last part (`…/train.jsonl`), echoed command lines become
 * {@link COMMAND_LINE}. Text without them comes back unchanged.
 */
export function withoutHostDetails(text: string): string {
  return text
    .replace(ECHOED_COMMAND, `$1$ ${COMMAND_LINE}`)
    .replace(URL, (url) => `${ADDRESS}${TRAILING_PUNCTUATION.exec(url)?.[0] ?? ''}`)
    .replace(HOST, ADDRESS)
    .replace(POSIX_PATH, (path) => {
      if (API_ROUTE.test(path)) return path;
      const end = TRAILING_PUNCTUATION.exec(path)?.[0] ?? '';
      return `${shortPath(path.slice(0, path.length - end.length), '/')}${end}`;
    })
    .replace(WINDOWS_PATH, (path) => {
      const end = TRAILING_PUNCTUATION.exec(path)?.[0] ?? '';
      return `${shortPath(path.slice(0, path.length - end.length), '\\')}${end}`;
    });
}

/**
 * An error's words for anyone who reads the reply: the first `publicMessage` along its causes
 * (an AppError's, which leaves out where the server is), else its message without the host's
 * details. For the operator's words, read the error's own message.
 */
export function publicMessageOf(error: unknown): string {
  let current: unknown = error;
  for (let depth = 0; current && typeof current === 'object' && depth < 8; depth++) {
    const told = (current as { publicMessage?: unknown }).publicMessage;
    if (typeof told === 'string') return told;
    current = (current as { cause?: unknown }).cause;
  }
  return withoutHostDetails(error instanceof Error ? error.message : String(error));
}
