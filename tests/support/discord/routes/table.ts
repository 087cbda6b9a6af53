/** How a route module declares its routes. */

import type { Route, RouteBucket, RouteHandler } from '../model.ts';

export interface RouteOptions {
  /** False for routes authorized by a webhook or interaction token instead of the bot token. */
  auth?: boolean;
  bucket?: RouteBucket;
  exemptFromGlobal?: boolean;
}

/** A route; segments of `template` starting with ':' are parameters (`context.param(name)`). */
export function route(
  method: string,
  template: string,
  handler: RouteHandler,
  options: RouteOptions = {},
): Route {
  const entry: Route = {
    method,
    template,
    segments: template.split('/').filter(Boolean),
    auth: options.auth ?? true,
    handler,
  };
  if (options.bucket) entry.bucket = options.bucket;
  if (options.exemptFromGlobal) entry.exemptFromGlobal = true;
  return entry;
}
