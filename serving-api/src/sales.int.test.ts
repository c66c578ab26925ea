/**
 * /sales, /kpis and /facts/sales on hand-written warehouse facts plus realtime rows; and a
 * database that is down: 503 naming it, never a 500 or a driver message.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '@lambdamart/core';
import { insertCatalog, insertOrder, json, withApiDatabases, withApp } from './testing/fixtures.ts';

describe('sales endpoints', () => {
  it('split /sales by category and country, page /facts/sales, compare /kpis with the previous period', async () => {
    await withApiDatabases('api_sales', {}, async ({ config, rt, wh }) => {
      await insertCatalog(rt, 'p1', '2026-01-01T00:00:00Z', 'Sports', 10);
      await insertCatalog(rt, 'p2', '2026-01-01T00:00:00Z', 'Books', 5);
      // The warehouse holds one order (loaded by a facts run up to its watermark) ...
      const loaded = await insertOrder(rt, {
        user: 'a',
        at: '2026-11-19T10:00:00Z',
        country: 'FR',
        lines: [['p1', 1, 10]],
        ingestedAt: '2026-11-19T10:00:01Z',
      });
      await wh.query(
        `insert into dim_products (product_id, name, category, price, effective_from, effective_to, is_current) values ('p1', 'Ball', 'Sports', 10, '2026-01-01', null, true)`,
      );
      await wh.query(`insert into dim_geography (country) values ('FR')`);
      await wh.query(
        `insert into dim_customers (user_id, country, customer_segment, effective_from, effective_to, is_current) values ('a', 'FR', 'Champions', '2026-01-01', null, true)`,
      );
      await wh.query(
        `insert into fact_sales (event_id, transaction_id, line_number, date_id, customer_id, product_id_pk, geography_id, user_id, product_id, session_id,
           currency, payment_method, quantity, unit_price, total_amount, transaction_timestamp, event_date, ingested_at)
         select $1 || ':1', $1::uuid, 1, 20261119, (select customer_id from dim_customers where user_id = 'a'), (select product_id_pk from dim_products where product_id = 'p1'),
                (select geography_id from dim_geography where country = 'FR'), 'a', 'p1', 's-a', 'USD', 'card', 1, 10, 10,
                '2026-11-19T10:00:00Z', '2026-11-19', '2026-11-19T10:00:01Z'`,
        [loaded],
      );
      await wh.query(`insert into etl_watermarks (job_name, watermark) values ('facts', '2026-11-19T10:00:01Z')`);
      // ... the realtime database that one and two more.
      await insertOrder(rt, {
        user: 'b',
        at: '2026-11-20T09:00:00Z',
        country: 'US',
        lines: [
          ['p1', 2, 10],
          ['p2', 1, 5],
        ],
      });
      await insertOrder(rt, { user: 'a', at: '2026-11-20T15:00:00Z', country: 'FR', lines: [['p2', 3, 5]] });

      await withApp({ config }, async (app) => {
        const sales = json<{ data: { period: string; group: string; revenue: number; orders: number }[]; batch_until: string }>(
          await app.inject('/api/v1/sales?from=2026-11-19&to=2026-11-20&split_by=category'),
        );
        assert.equal(sales.batch_until, '2026-11-19T10:00:01.000Z');
        assert.deepEqual(
          sales.data.map((p) => [p.period.slice(0, 10), p.group, p.revenue, p.orders]),
          [
            ['2026-11-19', 'Sports', 10, 1],
            ['2026-11-20', 'Books', 20, 2],
            ['2026-11-20', 'Sports', 20, 1],
          ],
        );
        const byCountry = json<{ data: { group: string; orders: number }[] }>(
          await app.inject('/api/v1/sales?from=2026-11-19&to=2026-11-20&interval=week&split_by=country&sort=-period'),
        );
        assert.deepEqual(
          byCountry.data.map((p) => [p.group, p.orders]),
          [
            ['FR', 2],
            ['US', 1],
          ],
        );
        assert.equal((await app.inject('/api/v1/sales?interval=year')).statusCode, 400);
        // Values the database cannot take are the client's: 400, never a 500.
        assert.equal((await app.inject('/api/v1/sales?country=%00')).statusCode, 400);
        assert.equal((await app.inject('/api/v1/kpis?to=9999-12-31')).statusCode, 400);
        assert.equal((await app.inject('/api/v1/rfm/a%00b')).statusCode, 400);

        const kpis = json<{
          current: { orders: number; customers: number; revenue: number };
          previous: { orders: number; revenue: number };
        }>(await app.inject('/api/v1/kpis?from=2026-11-20&to=2026-11-20&source=merged'));
        assert.deepEqual([kpis.current.orders, kpis.current.customers, kpis.current.revenue], [2, 2, 40]);
        assert.deepEqual([kpis.previous.orders, kpis.previous.revenue], [1, 10]);
        const books = json<{ current: { orders: number; units: number } }>(
          await app.inject('/api/v1/kpis?from=2026-11-20&to=2026-11-20&category=Books'),
        );
        assert.deepEqual([books.current.orders, books.current.units], [2, 4]);

        // Segment: the batch side by the customer's version at the order, the speed side by the
        // current one; a customer the warehouse does not know yet is 'Unknown'.
        const segment = async (name: string) =>
          json<{ current: { orders: number } }>(await app.inject(`/api/v1/kpis?from=2026-11-19&to=2026-11-20&segment=${name}`)).current
            .orders;
        assert.deepEqual([await segment('Champions'), await segment('Unknown'), await segment('Lost')], [2, 1, 0]);
        const facts = json<{ data: { event_id: string; country: string; category: string }[]; source: string }>(
          await app.inject('/api/v1/facts/sales?from=2026-11-01&to=2026-11-30&limit=1'),
        );
        assert.equal(facts.source, 'batch');
        assert.deepEqual(
          facts.data.map((f) => [f.event_id, f.country, f.category]),
          [[`${loaded}:1`, 'FR', 'Sports']],
        );
        assert.equal((await app.inject('/api/v1/facts/sales?limit=5000')).statusCode, 400);
        const csv = await app.inject('/api/v1/facts/sales?from=2026-11-01&to=2026-11-30&format=csv');
        assert.equal(csv.body.split('\r\n').filter(Boolean).length, 2);
      });
    });
  });

  it('answers 503 naming a database that is down, and /ready says which', async () => {
    await withApiDatabases('api_down', {}, async ({ config }) => {
      const down = loadConfig({
        REALTIME_DATABASE_URL: config.realtimeDatabaseUrl,
        WAREHOUSE_DATABASE_URL: config.warehouseDatabaseUrl.replace(/\/[^/]+$/, '/lambdamart_no_such_database'),
        LOG_LEVEL: 'silent',
      });
      await withApp({ config: down }, async (app) => {
        for (const url of ['/api/v1/kpis', '/api/v1/rfm', '/api/v1/jobs/runs']) {
          const response = await app.inject(url);
          assert.equal(response.statusCode, 503, `${url}: ${response.body}`);
          assert.equal(json(response).code, 'LM_ERR_API_DATABASE_UNAVAILABLE');
          assert.match(String(json(response).message), /warehouse database is unavailable/);
          assert.doesNotMatch(response.body, /lambdamart_no_such_database|select|from /i);
        }
        const ready = await app.inject('/ready');
        assert.equal(ready.statusCode, 503);
        assert.deepEqual(
          json<{ components: { name: string; ok: boolean }[] }>(ready).components.map((c) => [c.name, c.ok]),
          [
            ['warehouse', false],
            ['realtime', true],
            ['kafka', true],
          ],
        );
      });
    });
  });
});
