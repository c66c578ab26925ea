/** The serving API on an ephemeral loopback port, for the tests that talk to it over HTTP (a browser, a fuzzer). */
import { type BuildAppOptions, buildApp } from '@lambdamart/serving-api';

export type App = Awaited<ReturnType<typeof buildApp>>;

export interface ListeningApi {
  app: App;
  /** e.g. http://127.0.0.1:41234 */
  url: string;
}

/** Builds the app, listens on 127.0.0.1:0, hands it to `use`, and closes it (pools, listeners) even when `use` throws. */
export async function withListeningApi<T>(options: BuildAppOptions, use: (api: ListeningApi) => Promise<T>): Promise<T> {
  const app = await buildApp(options);
  try {
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    if (typeof address !== 'object' || !address) throw new Error(`the API listens on ${String(address)}, not a TCP port`);
    return await use({ app, url: `http://127.0.0.1:${address.port}` });
  } finally {
    await app.close();
  }
}

/** Every operation the OpenAPI document lists, as `METHOD /path`. */
export function operationsOf(document: { paths?: Record<string, Record<string, unknown>> }): string[] {
  const methods = new Set(['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace']);
  return Object.entries(document.paths ?? {}).flatMap(([path, item]) =>
    Object.keys(item)
      .filter((method) => methods.has(method))
      .map((method) => `${method.toUpperCase()} ${path}`),
  );
}
