import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Polls `check` every 10 ms until it gives something other than undefined, null or false, and
 * resolves with that; fails after `timeoutMs` with the check's source and its last error. Unlike
 * the Discord emulator's `waitFor`, whose check is synchronous, this one awaits each answer: for
 * state that only an awaited read can see, such as an HTTP endpoint or a store.
 */
export async function eventually<T>(
  check: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeoutMs = 5000,
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
  const detail = lastError instanceof Error ? ` Last error: ${lastError.message}.` : '';
  throw new Error(`eventually timed out after ${timeoutMs} ms: ${check.toString().slice(0, 200)}.${detail}`);
}
