import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/**
 * `METRICS_PORT`: Prometheus text at `/metrics`, and `/healthz` for containers and orchestrators
 * (200 when every check holds, 503 with the failing ones otherwise).
 */
export interface MetricsServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function serveMetrics(options: {
  port: number;
  host: string;
  registry: Registry;
  health: () => Record<string, boolean>;
}): Promise<MetricsServer> {
  const server: Server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/metrics') {
      options.registry.metrics().then(
        (text) => response.writeHead(200, { 'Content-Type': options.registry.contentType }).end(text),
        (error: unknown) => response.writeHead(500, { 'Content-Type': 'text/plain' }).end(String(error)),
      );
      return;
    }
    if (path === '/healthz') {
      const checks = options.health();
      const ok = Object.values(checks).every(Boolean);
      response
        .writeHead(ok ? 200 : 503, { 'Content-Type': 'application/json' })
        .end(JSON.stringify({ ok, checks }));
      return;
    }
    response.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found: try /metrics or /healthz');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
