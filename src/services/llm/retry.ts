import type { Clock } from '../clock.ts';
import { findAppError } from '../errors.ts';

/** How often, and how patiently, an operational failure is tried again. */
export interface RetryPolicy {
  /** Tries after the first (default 3). */
  retries: number;
  /** Wait before the first retry, doubled for each next one (default 500 ms). */
  baseMs: number;
  /** Longest single wait (default 4 s). */
  maxMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { retries: 3, baseMs: 500, maxMs: 4000 };

/**
 * Runs `work`, trying again with a bounded exponential backoff while it fails with a retryable
 * {@link AppError} (Ollama busy, restarting, a 5xx). Anything else, and a cancellation, ends it
 * at once. Not p-retry: the waits go through the injected clock, so a test moves past them
 * instead of sleeping.
 */
export async function withRetry<T>(
  work: () => Promise<T>,
  options: {
    clock: Clock;
    policy?: RetryPolicy;
    signal?: AbortSignal | undefined;
    /** A further condition for trying again (e.g. nothing was streamed yet), given what failed. */
    retryIf?: (error: unknown) => boolean;
    onRetry?: (error: unknown, attempt: number, waitMs: number) => void;
  },
): Promise<T> {
  const policy = options.policy ?? DEFAULT_RETRY_POLICY;
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      const again = findAppError(error)?.retryable && (options.retryIf?.(error) ?? true);
      if (attempt > policy.retries || options.signal?.aborted || !again) throw error;
      const waitMs = Math.min(policy.maxMs, policy.baseMs * 2 ** (attempt - 1));
      options.onRetry?.(error, attempt, waitMs);
      await options.clock.sleep(waitMs, options.signal);
    }
  }
}
