/** The app's plumbing against real databases: health, readiness, docs, errors, keys, formats. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { insertOrder, json, withApiDatabases, withApp } from './testing/fixtures.ts';

describe('serving-api app', () => {
  it('answers /health, /ready, /openapi.json and a JSON 404', async () => {
    await withApiDatabases('api_app', {}, async ({ config }) => {
      await withApp({ config }, async (app) => {
        assert.deepEqual(json(await app.inject('/health')), { status: 'ok' });
        const ready = await app.inject('/ready');
        assert.equal(ready.statusCode, 200, ready.body);
        const doc = await app.inject('/openapi.json');
        assert.equal(json<{ openapi: string }>(doc).openapi, '3.1.0');
        const missing = await app.inject('/api/v1/nothing');
        assert.equal(missing.statusCode, 404);
        assert.equal(json(missing).code, 'LM_ERR_API_NOT_FOUND');
      });
    });
  });

  it('answers /kpis merged from the realtime rows when no batch ran', async () => {
    await withApiDatabases('api_kpis0', {}, async ({ config, rt }) => {
      await insertOrder(rt, { user: 'u1', at: '2026-11-20T10:00:00Z', lines: [['p1', 2, 5]] });
      await insertOrder(rt, {
        user: 'u2',
        at: '2026-11-20T11:00:00Z',
        lines: [
          ['p2', 1, 10],
          ['p1', 1, 5],
        ],
      });
      await withApp({ config }, async (app) => {
        const response = await app.inject('/api/v1/kpis?from=2026-11-20&to=2026-11-20');
        assert.equal(response.statusCode, 200, response.body);
        const body = json<{ current: Record<string, unknown>; batch_until: null; source: string }>(response);
        assert.equal(body.source, 'merged');
        assert.equal(body.batch_until, null);
        assert.deepEqual(
          { revenue: body.current.revenue, orders: body.current.orders, customers: body.current.customers, units: body.current.units },
          { revenue: 25, orders: 2, customers: 2, units: 4 },
        );
        const sales = await app.inject('/api/v1/sales?from=2026-11-20&to=2026-11-20&interval=hour&format=csv');
        assert.equal(sales.statusCode, 200, sales.body);
        assert.match(sales.headers['content-type'] as string, /text\/csv/);
        assert.equal(
          sales.body,
          'period,group,revenue,orders,units\r\n2026-11-20T10:00:00.000Z,,10,1,2\r\n2026-11-20T11:00:00.000Z,,15,1,2\r\n',
        );
        const bad = await app.inject('/api/v1/kpis?from=yesterday&source=both');
        assert.equal(bad.statusCode, 400);
        assert.deepEqual(
          json<{ details: { field: string }[] }>(bad).details.map((d) => d.field),
          ['query.from', 'query.source'],
        );
      });
    });
  });

  it('counts requests, latency and cache hits in /metrics, allows the configured CORS origins, limits anonymous callers per address', async () => {
    await withApiDatabases('api_plumbing', { API_CORS_ORIGINS: 'https://bi.example.com', API_RATE_LIMIT: '4' }, async ({ config }) => {
      await withApp({ config }, async (app) => {
        for (let i = 0; i < 2; i++) assert.equal((await app.inject('/api/v1/customers/segments')).statusCode, 200);
        const metrics = (await app.inject('/metrics')).body;
        assert.match(metrics, /lambdamart_api_requests_total\{[^}]*route="\/api\/v1\/customers\/segments"[^}]*status_code="200"[^}]*\} 2/);
        assert.match(metrics, /lambdamart_api_request_duration_seconds_bucket\{[^}]*route="\/api\/v1\/customers\/segments"/);
        assert.match(metrics, /lambdamart_api_cache_total\{result="hit"[^}]*\} 1/);

        const preflight = await app.inject({
          method: 'OPTIONS',
          url: '/api/v1/kpis',
          headers: { origin: 'https://bi.example.com', 'access-control-request-method': 'GET' },
        });
        assert.equal(preflight.headers['access-control-allow-origin'], 'https://bi.example.com');
        const other = await app.inject({ url: '/health', headers: { origin: 'https://evil.example.com' } });
        assert.equal(other.headers['access-control-allow-origin'], undefined);

        // Two requests above; the budget of this address (no key) is 4 a minute.
        for (let i = 0; i < 2; i++) assert.equal((await app.inject('/api/v1/jobs/runs')).statusCode, 200);
        const limited = await app.inject('/api/v1/jobs/runs');
        assert.equal(limited.statusCode, 429);
        assert.ok(Number(limited.headers['retry-after']) > 0);
      });
    });
  });

  it('/ready answers 503 naming Kafka when no broker answers', async () => {
    await withApiDatabases('api_nokafka', { KAFKA_BROKERS: '127.0.0.1:1' }, async ({ config }) => {
      await withApp({ config }, async (app) => {
        const ready = await app.inject('/ready');
        assert.equal(ready.statusCode, 503);
        assert.deepEqual(
          json<{ components: { name: string; ok: boolean }[] }>(ready)
            .components.filter((c) => !c.ok)
            .map((c) => c.name),
          ['kafka'],
        );
      });
    });
  });
});
