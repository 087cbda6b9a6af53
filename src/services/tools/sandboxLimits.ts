/** What one sandboxed call may take, and what it can come to when it takes more or fails. */

export interface SandboxLimits {
  /** Deadline for one call, in milliseconds (default 1000). */
  timeoutMs: number;
  /**
   * Memory a call may take, in bytes (default 32 MiB): how far the worker's WebAssembly memory
   * may grow past the 16 MiB it starts with. (QuickJS's own limit cannot measure allocations
   * in WebAssembly, so the worker caps the memory itself, and a refused growth is a `memory`
   * failure.)
   */
  memoryBytes: number;
  /** QuickJS stack limit, in bytes (default 256 KiB: deeper breaks the WebAssembly stack). */
  stackBytes: number;
  /** Largest result, in characters of JSON (default 1,000,000). */
  maxResultChars: number;
}

export const DEFAULT_SANDBOX_LIMITS: SandboxLimits = {
  timeoutMs: 1000,
  memoryBytes: 32 * 1024 * 1024,
  stackBytes: 256 * 1024,
  maxResultChars: 1_000_000,
};

/**
 * Why a call failed. `timeout`, `memory`, `stack` and `crashed` are what the worker observed
 * (QuickJS interrupted at the deadline, a memory growth refused, the stack used to its limit,
 * the WebAssembly module failing), never what the tool threw: a tool's own throw is `thrown`,
 * whatever its name or message.
 */
export type SandboxFailureKind =
  | 'timeout'
  | 'memory'
  | 'stack'
  | 'thrown'
  | 'not_json'
  | 'too_large'
  | 'no_entry'
  | 'syntax'
  | 'bad_input'
  | 'crashed'
  | 'aborted';

export type SandboxResult =
  | { ok: true; value: unknown; json: string; ms: number }
  | { ok: false; kind: SandboxFailureKind; message: string; ms: number };

/** Human words for each failure, with the limit where one applies. */
export function describeFailureKind(kind: SandboxFailureKind, limits: SandboxLimits): string {
  switch (kind) {
    case 'timeout':
      return `ran past its ${limits.timeoutMs} ms deadline`;
    case 'memory':
      return `ran out of its ${Math.round(limits.memoryBytes / 1024 / 1024)} MB of memory`;
    case 'stack':
      return 'recursed too deeply (stack overflow)';
    case 'too_large':
      return 'returned a result over the size limit';
    case 'not_json':
      return 'returned something that is not JSON';
    case 'crashed':
      return 'crashed the sandbox (it was restarted)';
    default:
      return 'failed';
  }
}
