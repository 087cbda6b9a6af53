/**
 * What a route answers: success results, Discord's JSON errors (thrown as `ApiError` and turned
 * into a result by `errorResult`), and the 429 a handler throws for a shared limit.
 */

import type { JsonObject, RouteResult } from './model.ts';

/** An error answered as Discord's JSON error body. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
    readonly errors?: JsonObject,
  ) {
    super(message);
  }
}

/** A 429, thrown from inside a route handler (the shared per-channel webhook limit). */
export class RateLimitedError extends Error {
  constructor(readonly result: RouteResult) {
    super('rate limited');
  }
}

export const unknownChannel = () => new ApiError(404, 10003, 'Unknown Channel');
export const unknownGuild = () => new ApiError(404, 10004, 'Unknown Guild');
export const unknownMessage = () => new ApiError(404, 10008, 'Unknown Message');
export const unknownWebhook = () => new ApiError(404, 10015, 'Unknown Webhook');
export const unknownInteraction = () => new ApiError(404, 10062, 'Unknown interaction');
export const missingAccess = () => new ApiError(403, 50001, 'Missing Access');
export const missingPermissions = () => new ApiError(403, 50013, 'Missing Permissions');
export const invalidWebhookToken = () => new ApiError(401, 50027, 'Invalid Webhook Token');
export const wrongChannelType = () => new ApiError(400, 50024, 'Cannot execute action on this channel type');
export const invalidJson = () => new ApiError(400, 50109, 'The request body contains invalid JSON.');

export const ok = (body: unknown): RouteResult => ({ status: 200, body });
export const noContent = (): RouteResult => ({ status: 204 });

/** A thrown error as a result: a 429's own, an `ApiError`'s JSON body, or a 500 for anything else. */
export function errorResult(error: unknown): RouteResult {
  if (error instanceof RateLimitedError) return error.result;
  if (error instanceof ApiError) {
    const body: JsonObject = { message: error.message, code: error.code };
    if (error.errors) body.errors = error.errors;
    return { status: error.status, body };
  }
  return { status: 500, body: { message: '500: Internal Server Error', code: 0 } };
}
