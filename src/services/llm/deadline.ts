/**
 * A signal that aborts at a deadline (with a `TimeoutError`) or when any of `signals` aborts.
 *
 * Built on a plain timer rather than `AbortSignal.any([AbortSignal.timeout(…), …])`: on Node 20
 * the composed timeout signal can be garbage-collected before it fires, and then the deadline
 * silently never comes (seen under load). The timer holds the controller until it fires or
 * `clear()` is called.
 */
export function deadlineSignal(
  timeoutMs: number,
  ...signals: Array<AbortSignal | null | undefined>
): { signal: AbortSignal; clear: () => void } {
  const controller = new AbortController();
  const timer = setTimeout(() => {
    controller.abort(new DOMException(`no answer within ${timeoutMs} ms`, 'TimeoutError'));
  }, timeoutMs);
  timer.unref();
  const cleanups: Array<() => void> = [];
  for (const source of signals) {
    if (!source) continue;
    if (source.aborted) {
      controller.abort(source.reason);
      break;
    }
    const forward = () => controller.abort(source.reason);
    source.addEventListener('abort', forward, { once: true });
    cleanups.push(() => source.removeEventListener('abort', forward));
  }
  const clear = () => {
    clearTimeout(timer);
    for (const cleanup of cleanups.splice(0)) cleanup();
    // The signal may outlive the call (fetch keeps a request's signal until the request is
    // collected): it must not keep this closure, whose timer carries the caller's async context
    // (a whole dialogue's graph run).
    controller.signal.removeEventListener('abort', clear);
  };
  controller.signal.addEventListener('abort', clear, { once: true });
  return { signal: controller.signal, clear };
}
