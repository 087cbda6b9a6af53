import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { proxyRequests } from '@discordjs/proxy';
// The REST the proxy itself imports (ESM), not discord.js's CommonJS copy of the same package: the
// proxy tells a rate limit or Discord's error by `instanceof`, and another copy's errors are
// unknown to it, answered as an empty 200 (a message the process believes sent, and is not).
import { REST } from '@discordjs/rest';
import type { Logger } from '../../services/logger.ts';

/**
 * The one REST gateway of a bot in several processes: `@discordjs/proxy` in front of Discord, so
 * that every process's requests share one limiter (Discord's limits, the global 50 a second
 * first, are the bot's, not a process's). The processes point discord.js's REST `api` at it; it
 * forwards each request with the token that came with it.
 */
/** How the proxy's requests name themselves in their `User-Agent`. */
export const REST_PROXY_AGENT = 'bat-os-rest-proxy';

export interface RestProxy {
  /** What a process's REST `api` is set to: `http://host:port/api`. */
  readonly api: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function startRestProxy(options: {
  /** Discord's REST base (`DISCORD_API_URL`). */
  discordApiUrl: string;
  port: number;
  host: string;
  logger: Logger;
}): Promise<RestProxy> {
  const log = options.logger.child({ module: 'rest-proxy' });
  // A request over a limit is answered 429 with its Retry-After at once (and not held here), so
  // the process that sent it waits, as discord.js does for Discord's own; it retries, not the proxy.
  const rest = new REST({
    api: options.discordApiUrl,
    rejectOnRateLimit: () => true,
    retries: 0,
    // Discord's own format, with a word on who sends it: what an operator reads in a capture.
    userAgentAppendix: `${REST_PROXY_AGENT} Node.js ${process.version}`,
  });
  const forward = proxyRequests(rest);
  const server = createServer((request, response) => {
    // The proxy rethrows what is not Discord's answer (Discord unreachable, say): a 502, not a crash.
    void Promise.resolve(forward(request, response)).catch((error: unknown) => {
      log.warn({ err: error, method: request.method }, 'could not forward a request to Discord');
      if (!response.headersSent) response.writeHead(502);
      response.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const shown = options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host;
  return {
    api: `http://${shown.includes(':') ? `[${shown}]` : shown}:${port}/api`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
