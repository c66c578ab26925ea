/**
 * The warehouse read endpoints against a real warehouse holding hand-written rows: valid and
 * invalid input, pagination, filters, CSV, 404s.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Pool } from '@lambdamart/core';
import type { FastifyInstance } from 'fastify';
import { json, withApiDatabases, withApp } from './testing/fixtures.ts';

async function fillWarehouse(wh: Pool): Promise<void> {
  await wh.query(`insert into product_performance (analysis_date, product_id, category, total_sales, total_quantity, total_revenue, total_views, total_cart_adds, conversion_rate)
    values ('2026-11-19', 'p1', 'Sports', 2, 3, 30.00, 10, 4, 0.2), ('2026-11-20', 'p1', 'Sports', 1, 1, 10.00, 10, 1, 0.1),
           ('2026-11-20', 'p2', 'Books', 5, 5, 25.00, 5, 5, 1.0), ('2026-11-20', 'p3', 'Books', 1, 9, 90.00, 0, 0, null)`);
  await wh.query(`insert into customer_segments (segment_name, customer_count, total_revenue, avg_order_value)
    values ('Champions', 2, 120.00, 30.00), ('Lost', 5, 20.00, 4.00)`);
  await wh.query(`insert into rfm_analysis (analysis_date, user_id, recency_days, frequency_count, monetary_value, recency_score, frequency_score, monetary_score, rfm_segment)
    values ('2026-11-20', 'u1', 1, 4, 100.00, 5, 5, 5, 'Champions'), ('2026-11-20', 'u2', 2, 3, 100.00, 5, 4, 4, 'Champions'),
           ('2026-11-20', 'u3', 40, 1, 5.00, 1, 1, 1, 'Lost'), ('2026-11-19', 'u4', 3, 1, 7.00, 3, 1, 2, 'About to Sleep')`);
  await wh.query(`insert into sales_trends (period_type, period_value, period_start, category, total_sales, total_revenue, avg_order_value, total_quantity, growth_rate, analysis_date, is_complete)
    values ('month', '2026-10', '2026-10-01', 'Books', 10, 100.00, 10.00, 12, null, '2026-11-20', true),
           ('month', '2026-11', '2026-11-01', 'Books', 12, 150.00, 12.50, 15, 0.5, '2026-11-20', false),
           ('week', '2026-W47', '2026-11-16', 'Books', 3, 30.00, 10.00, 3, null, '2026-11-20', false)`);
  await wh.query(`insert into dim_products (product_id, name, category, price, effective_from, effective_to, is_current)
    values ('p1', 'Ball', 'Sports', 10, '2026-01-01', '2026-11-10', false), ('p1', 'Ball', 'Outdoor', 12, '2026-11-10', null, true),
           ('p2', 'Novel', 'Books', 5, '2026-01-01', null, true)`);
  await wh.query(`insert into dim_customers (user_id, country, customer_segment, effective_from, effective_to, is_current)
    values ('u1', 'US', 'New', '2026-01-01', '2026-06-01', false), ('u1', 'US', 'Champions', '2026-06-01', null, true)`);
  await wh.query(`insert into dim_geography (country, region) values ('US', 'Americas'), ('FR', 'Europe')`);
}

const get = async (app: FastifyInstance, url: string, status = 200) => {
  const response = await app.inject(url);
  assert.equal(response.statusCode, status, `${url}: ${response.body}`);
  return response;
};
const data = async (app: FastifyInstance, url: string) =>
  json<{ data: Record<string, unknown>[]; next_cursor: string | null }>(await get(app, url));

describe('warehouse read endpoints', () => {
  it('answer products, customers, rfm, trends and dimensions, with filters, sorting, cursors and errors', async () => {
    await withApiDatabases('api_reads', {}, async ({ config, wh }) => {
      await fillWarehouse(wh);
      await withApp({ config }, async (app) => {
        const range = 'from=2026-11-19&to=2026-11-20';
        const performance = await data(app, `/api/v1/products/performance?${range}`);
        assert.deepEqual(
          performance.data.map((r) => [r.product_id, r.orders, r.revenue, r.views, r.conversion]),
          [
            ['p3', 1, 90, 0, null],
            ['p1', 3, 40, 20, 0.15],
            ['p2', 5, 25, 5, 1],
          ],
        );
        const page1 = await data(app, `/api/v1/products/performance?${range}&sort=product_id&limit=2`);
        assert.deepEqual(
          page1.data.map((r) => r.product_id),
          ['p1', 'p2'],
        );
        const page2 = await data(app, `/api/v1/products/performance?${range}&sort=product_id&limit=2&cursor=${page1.next_cursor}`);
        assert.deepEqual([page2.data.map((r) => r.product_id), page2.next_cursor], [['p3'], null]);
        assert.deepEqual((await data(app, `/api/v1/products/performance?${range}&category=Books`)).data.length, 2);
        const top = await data(app, `/api/v1/products/top?${range}&by=conversion&limit=1`);
        assert.deepEqual(
          top.data.map((r) => [r.rank, r.product_id]),
          [[1, 'p2']],
        );
        await get(app, `/api/v1/products/top?by=margin`, 400);
        await get(app, `/api/v1/products/performance?cursor=not-a-cursor`, 400);

        const segments = await data(app, '/api/v1/customers/segments');
        assert.deepEqual(
          segments.data.map((r) => [r.segment, r.customers]),
          [
            ['Champions', 2],
            ['Lost', 5],
          ],
        );
        await get(app, '/api/v1/customers/segments?sort=-nope', 400);

        // Latest analysis only, by monetary value, ties by user id; keyset pages.
        const rfm1 = await data(app, '/api/v1/rfm?limit=1');
        assert.deepEqual(
          rfm1.data.map((r) => r.user_id),
          ['u1'],
        );
        const rfm2 = await data(app, `/api/v1/rfm?limit=1&cursor=${rfm1.next_cursor}`);
        assert.deepEqual(
          rfm2.data.map((r) => r.user_id),
          ['u2'],
        );
        assert.deepEqual(
          (await data(app, '/api/v1/rfm?segment=Lost')).data.map((r) => r.user_id),
          ['u3'],
        );
        assert.equal(json(await get(app, '/api/v1/rfm/u3')).segment, 'Lost');
        assert.equal(json(await get(app, '/api/v1/rfm/nobody', 404)).code, 'LM_ERR_API_NOT_FOUND');
        await get(app, '/api/v1/rfm?limit=0', 400);

        const trends = await data(app, '/api/v1/trends?period=month&from=2026-10-01&to=2026-11-30&category=Books');
        assert.deepEqual(
          trends.data.map((r) => [r.period, r.growth_rate, r.is_complete]),
          [
            ['2026-10', null, true],
            ['2026-11', 0.5, false],
          ],
        );
        assert.equal((await data(app, '/api/v1/trends?period=week&from=2026-11-01&to=2026-11-30')).data.length, 1);
        await get(app, '/api/v1/trends?period=year', 400);

        const current = await data(app, '/api/v1/dimensions/products?product_id=p1');
        assert.deepEqual(
          current.data.map((r) => r.category),
          ['Outdoor'],
        );
        const past = await data(app, '/api/v1/dimensions/products?product_id=p1&as_of=2026-05-01T00:00:00Z');
        assert.deepEqual(
          past.data.map((r) => r.category),
          ['Sports'],
        );
        const customers = await data(app, '/api/v1/dimensions/customers?as_of=2026-02-01');
        assert.deepEqual(
          customers.data.map((r) => [r.user_id, r.customer_segment]),
          [['u1', 'New']],
        );
        assert.deepEqual(
          (await data(app, '/api/v1/dimensions/geography')).data.map((r) => r.country),
          ['FR', 'US'],
        );
        await get(app, '/api/v1/dimensions/products?as_of=last-week', 400);
        await get(app, '/api/v1/dimensions/stores', 404);
        await get(app, '/api/v1/dimensions/customers?as_of=2026-13-01', 400);
        await get(app, '/api/v1/dimensions/geography?limit=-1', 400);
        await get(app, '/api/v1/facts/sales?sort=price', 400);
        await get(app, '/api/v1/facts/sales?from=2026-11-20&to=2026-11-01', 400);
        await get(app, '/api/v1/jobs/runs?status=done', 400);
        await get(app, '/api/v1/jobs/runs?limit=2&cursor=bogus', 400);
        await get(app, '/api/v1/kpis?format=xml', 400);
        await get(app, '/api/v1/sales?split_by=city', 400);

        const csv = await get(app, '/api/v1/customers/segments');
        assert.ok(csv.headers.etag, 'an ETag');
        assert.match(String(csv.headers['cache-control']), /max-age=\d+/);
        const again = await app.inject({ url: '/api/v1/customers/segments', headers: { 'if-none-match': String(csv.headers.etag) } });
        assert.equal(again.statusCode, 304);
        // A hit sends the JSON and the ETag of the first answer; compressed answers carry the same ETag.
        const first = await get(app, `/api/v1/products/performance?${range}&limit=3`);
        const hitAnswer = await get(app, `/api/v1/products/performance?${range}&limit=3`);
        assert.deepEqual([first.headers['x-cache'], hitAnswer.headers['x-cache']], ['miss', 'hit']);
        assert.equal(hitAnswer.body, first.body);
        assert.equal(hitAnswer.headers.etag, first.headers.etag);
        assert.match(String(hitAnswer.headers['content-type']), /application\/json/);
        const notModified = await app.inject({
          url: `/api/v1/products/performance?${range}&limit=3`,
          headers: { 'if-none-match': String(first.headers.etag) },
        });
        assert.equal(notModified.statusCode, 304);
        const gzipped = await app.inject({ url: `/api/v1/dimensions/products?limit=1000`, headers: { 'accept-encoding': 'gzip' } });
        const gzippedHit = await app.inject({ url: `/api/v1/dimensions/products?limit=1000`, headers: { 'accept-encoding': 'gzip' } });
        assert.ok(gzipped.headers.etag && gzipped.headers.etag === gzippedHit.headers.etag);
        const asCsv = await app.inject({ url: '/api/v1/customers/segments', headers: { accept: 'text/csv' } });
        assert.match(asCsv.body, /^segment,customers,revenue,average_order_value,updated_at\r\nChampions,2,120,30,/);
      });
    });
  });
});
