/** Listens: the app of app.ts on API_PORT (or the port given), and says where. */
import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.ts';
import type { BuildAppOptions } from './app-types.ts';

export interface RunningServer {
  app: FastifyInstance;
  /** The base URL, e.g. http://127.0.0.1:8000 */
  url: string;
  /** The URLs worth printing: API base, docs, OpenAPI document, health, metrics. */
  urls: { api: string; docs: string; openapi: string; health: string; metrics: string };
  /** Stops accepting connections, lets requests in flight finish, closes the pools. */
  close(): Promise<void>;
}

export async function startServer(options: BuildAppOptions & { port?: number; host?: string }): Promise<RunningServer> {
  const app = await buildApp(options);
  const host = options.host ?? '0.0.0.0';
  try {
    await app.listen({ port: options.port ?? options.config.api.port, host });
  } catch (error) {
    await app.close();
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : (options.port ?? options.config.api.port);
  const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
  return {
    app,
    url,
    urls: { api: `${url}/api/v1`, docs: `${url}/docs`, openapi: `${url}/openapi.json`, health: `${url}/health`, metrics: `${url}/metrics` },
    close: () => app.close(),
  };
}
