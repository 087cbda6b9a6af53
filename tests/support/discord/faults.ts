/** Injected faults: `failNext` rules that answer matching requests with an error of the test's choosing. */

import { STATUS_CODES } from 'node:http';
import type { EmulatorState, JsonObject, RouteResult } from './model.ts';

/**
 * The first fault rule (`failNext`) matching the request, used up once: its error answered
 * instead of the route's. A 429 carries `Retry-After` as given, not rounded up.
 */
export function takeFault(
  state: EmulatorState,
  method: string,
  fullPath: string,
  apiPath: string,
): RouteResult | undefined {
  const index = state.faults.findIndex(
    (fault) =>
      (fault.method === undefined || fault.method.toUpperCase() === method) &&
      (fault.path.test(fullPath) || fault.path.test(apiPath)),
  );
  const fault = state.faults[index];
  if (!fault) return undefined;
  fault.remaining -= 1;
  if (fault.remaining <= 0) state.faults.splice(index, 1);
  if (fault.status === 429) {
    const retryAfter = fault.retryAfter ?? 1;
    const body: JsonObject = {
      message: fault.message ?? 'You are being rate limited.',
      retry_after: retryAfter,
      global: false,
    };
    if (fault.code !== undefined) body.code = fault.code;
    // Retry-After is sent as given (not rounded up) so tests can inject short waits.
    return {
      status: 429,
      body,
      headers: { 'Retry-After': String(retryAfter), 'X-RateLimit-Scope': 'user' },
      limited: { bucket: 'fault', scope: 'user', retryAfter },
    };
  }
  return {
    status: fault.status,
    body: {
      code: fault.code ?? 0,
      message: fault.message ?? `${fault.status}: ${STATUS_CODES[fault.status] ?? 'Error'}`,
    },
  };
}
