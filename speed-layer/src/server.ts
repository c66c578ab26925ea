import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '@lambdamart/core';
import type { Registry } from 'prom-client';

export interface HealthReport {
  healthy: boolean;
  [detail: string]: unknown;
}

/**
 * `/health` (200 when healthy, 503 otherwise, JSON either way) and `/metrics` (Prometheus).
 * A port taken by another saver of the group falls back to a free one, logged, so scaling out by
 * starting more processes on one machine just works.
 */
export async function startHealthServer(options: {
  port: number;
  registry: Registry;
  health: () => HealthReport;
  logger: Logger;
}): Promise<{ port: number; close: () => Promise<void> }> {
  const { registry, health, logger } = options;
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (path === '/health') {
      const report = health();
      response.writeHead(report.healthy ? 200 : 503, { 'content-type': 'application/json' });
      response.end(JSON.stringify(report));
    } else if (path === '/metrics') {
      registry.metrics().then(
        (text) => {
          response.writeHead(200, { 'content-type': registry.contentType });
          response.end(text);
        },
        (error: Error) => {
          response.writeHead(500);
          response.end(error.message);
        },
      );
    } else {
      response.writeHead(404, { 'content-type': 'text/plain' });
      response.end('not found: try /health or /metrics\n');
    }
  });
  let port: number;
  try {
    port = await listen(server, options.port);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    port = await listen(server, 0);
    logger.warn({ wanted: options.port, port }, 'metrics port in use (another saver?), serving /health and /metrics on another');
  }
  return {
    port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once('error', onError);
    server.listen(port, '0.0.0.0', () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
