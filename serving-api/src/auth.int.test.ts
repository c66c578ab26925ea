/** Keys and roles, the rate limit, and the read cache cleared by a batch run's NOTIFY. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BatchRunsChannel } from '@lambdamart/core';
import { pino } from 'pino';
import { insertOrder, json, withApiDatabases, withApp } from './testing/fixtures.ts';

const admin = 'admin-key-0123456789abcdef';
const reader = 'read-key-0123456789abcdef';

describe('keys, roles and the rate limit', () => {
  it('with no API_KEYS, reads are open and writes answer 403 saying how to configure a key', async () => {
    await withApiDatabases('api_nokeys', {}, async ({ config }) => {
      await withApp({ config }, async (app) => {
        assert.equal((await app.inject('/api/v1/jobs/runs')).statusCode, 200);
        const write = await app.inject({ method: 'POST', url: '/api/v1/jobs/facts/runs', payload: {} });
        assert.equal(write.statusCode, 403);
        assert.equal(json(write).code, 'LM_ERR_API_WRITES_DISABLED');
        assert.match(String(json(write).message), /API_KEYS=<key>:admin/);
        const ingest = await app.inject({ method: 'POST', url: '/api/v1/events', payload: [] });
        assert.equal(ingest.statusCode, 403);
      });
    });
  });

  it('with API_KEYS, reads need a key, writes an admin key, and either header works', async () => {
    await withApiDatabases('api_keys', { API_KEYS: `${admin}:admin,${reader}` }, async ({ config }) => {
      // Every log line the app writes, at trace level, to check that no key ever appears in one.
      const logged: string[] = [];
      const sink = pino({ level: 'trace' }, { write: (line: string) => logged.push(line) });
      await withApp({ config, logger: sink }, async (app) => {
        const runs = '/api/v1/jobs/runs';
        const anonymous = await app.inject(runs);
        assert.equal(anonymous.statusCode, 401);
        assert.equal(json(anonymous).code, 'LM_ERR_API_UNAUTHORIZED');
        assert.equal((await app.inject({ url: runs, headers: { authorization: 'Bearer wrong-key-0123456789abc' } })).statusCode, 401);
        assert.equal((await app.inject({ url: runs, headers: { authorization: `Bearer ${reader}` } })).statusCode, 200);
        assert.equal((await app.inject({ url: runs, headers: { 'x-api-key': admin } })).statusCode, 200);
        const forbidden = await app.inject({
          method: 'POST',
          url: '/api/v1/jobs/facts/runs',
          headers: { 'x-api-key': reader },
          payload: {},
        });
        assert.equal(forbidden.statusCode, 403);
        assert.equal(json(forbidden).code, 'LM_ERR_API_FORBIDDEN');
        // An admin passes the key check; this app has no job trigger wired (the cli's test covers it).
        const allowed = await app.inject({
          method: 'POST',
          url: '/api/v1/jobs/facts/runs',
          headers: { authorization: `Bearer ${admin}` },
          payload: {},
        });
        assert.equal(allowed.statusCode, 503);
        assert.equal(json(allowed).code, 'LM_ERR_API_NOT_CONFIGURED');
        // Health and docs stay open.
        assert.equal((await app.inject('/health')).statusCode, 200);
        assert.equal((await app.inject('/openapi.json')).statusCode, 200);
        assert.equal((await app.inject('/docs')).statusCode < 400, true);
      });
      assert.ok(logged.length > 0, 'the app logged');
      assert.ok(!logged.some((line) => line.includes(admin) || line.includes(reader)), 'no key in the log');
    });
  });

  it('limits requests per key and per address, with Retry-After', async () => {
    await withApiDatabases('api_rate', { API_KEYS: `${admin}:admin,${reader}`, API_RATE_LIMIT: '3' }, async ({ config }) => {
      await withApp({ config }, async (app) => {
        const as = (key: string) => app.inject({ url: '/api/v1/jobs/runs', headers: { 'x-api-key': key } });
        for (let i = 0; i < 3; i++) assert.equal((await as(reader)).statusCode, 200);
        const limited = await as(reader);
        assert.equal(limited.statusCode, 429);
        assert.equal(json(limited).code, 'LM_ERR_API_RATE_LIMITED');
        assert.ok(Number(limited.headers['retry-after']) > 0, 'Retry-After');
        // Another key has its own budget; so does an address without a key; health is never limited.
        assert.equal((await as(admin)).statusCode, 200);
        for (let i = 0; i < 5; i++) assert.equal((await app.inject('/health')).statusCode, 200);
      });
    });
  });
});

describe('read cache', () => {
  it('serves cached answers until a batch run commits, then reads again', async () => {
    await withApiDatabases('api_cache', {}, async ({ config, wh, rt }) => {
      await wh.query(
        `insert into customer_segments (segment_name, customer_count, total_revenue, avg_order_value) values ('Lost', 1, 5, 5)`,
      );
      await withApp({ config }, async (app) => {
        const segments = async () => {
          const response = await app.inject('/api/v1/customers/segments');
          return { hit: response.headers['x-cache'], customers: json<{ data: { customers: number }[] }>(response).data[0]?.customers };
        };
        assert.deepEqual(await segments(), { hit: 'miss', customers: 1 });
        // A change without a run's notice is not seen: the answer comes from the cache.
        await wh.query(`update customer_segments set customer_count = 2`);
        assert.deepEqual(await segments(), { hit: 'hit', customers: 1 });
        // A run commits: its data and its NOTIFY in one transaction, as the batch runner does.
        const client = await wh.connect();
        await client.query('begin');
        await client.query(`update customer_segments set customer_count = 3`);
        await client.query('select pg_notify($1, $2)', [
          BatchRunsChannel,
          JSON.stringify({ job: 'analytics', run_id: 1, status: 'succeeded', watermark: null }),
        ]);
        await client.query('commit');
        client.release();
        const deadline = Date.now() + 5000;
        let after = await segments();
        while (after.customers !== 3 && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 50));
          after = await segments();
        }
        assert.equal(after.customers, 3, 'the notice cleared the cache');

        // Answers with the speed view expire by themselves within seconds.
        await insertOrder(rt, { user: 'u1', at: '2026-11-20T10:00:00Z', lines: [['p1', 1, 10]] });
        const kpis = async () =>
          json<{ current: { orders: number } }>(await app.inject('/api/v1/kpis?from=2026-11-20&to=2026-11-20')).current.orders;
        assert.equal(await kpis(), 1);
        await insertOrder(rt, { user: 'u2', at: '2026-11-20T11:00:00Z', lines: [['p1', 1, 10]] });
        assert.equal(await kpis(), 1, 'cached');
        await new Promise((resolve) => setTimeout(resolve, 3200));
        assert.equal(await kpis(), 2, 'expired after the speed TTL');
      });
    });
  });
});
