/** The OpenAPI document: valid OpenAPI 3.1 by a validator library, and listing every route the app serves. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { validateEvents } from './routes/events.ts';
import { json, withApiDatabases, withApp } from './testing/fixtures.ts';

describe('/openapi.json', () => {
  it('validates as OpenAPI 3.1 and documents every route', async () => {
    await withApiDatabases('api_openapi', {}, async ({ config }) => {
      await withApp({ config }, async (app) => {
        const doc = json<{ openapi: string; paths: Record<string, Record<string, unknown>> }>(await app.inject('/openapi.json'));
        assert.equal(doc.openapi, '3.1.0');
        const result = await new Validator().validate(doc as unknown as Parameters<Validator['validate']>[0]);
        assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2));

        const documented = new Set(
          Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`)),
        );
        const served = app.servedRoutes
          // CORS answers OPTIONS on every path; Swagger UI serves its own files.
          .filter((r) => r.method !== 'OPTIONS' && !r.url.startsWith('/docs') && r.url !== '/openapi.json')
          .map((r) => `${r.method} ${r.url.replace(/:([A-Za-z_]+)/g, '{$1}')}`);
        assert.ok(served.length >= 20, `routes served: ${served.length}`);
        for (const route of served) assert.ok(documented.has(route), `${route} is in /openapi.json`);
        // Each operation says what it answers, errors included.
        for (const [path, ops] of Object.entries(doc.paths)) {
          for (const [method, op] of Object.entries(ops as Record<string, { summary?: string; responses?: object }>)) {
            assert.ok(op.summary, `${method} ${path} has a summary`);
            assert.ok(op.responses && Object.keys(op.responses).length > 0, `${method} ${path} documents its responses`);
          }
        }
        // The example event of POST /events keeps to core's contract (a fuzzer sends it).
        // (@fastify/swagger moves a schema's first example to the media type's `example`.)
        const ingest = doc.paths['/api/v1/events']?.post as { requestBody: { content: Record<string, { example?: unknown }> } };
        const example = ingest.requestBody.content['application/json']?.example;
        assert.ok(example, 'an example event');
        assert.deepEqual(validateEvents([example as Record<string, unknown>]).problems, []);
        const docs = await app.inject('/docs/');
        assert.equal(docs.statusCode, 200);
        assert.match(docs.body, /swagger/i);
      });
    });
  });
});
