/**
 * The daily sales aggregate (warehouse migration 0012, refreshed by the facts job) gives /kpis
 * and /sales exactly the answers of the line query: totals, distinct customers (a customer on
 * several days, in several countries, and on both sides of the merge counts once), the previous
 * period, the country filter and split; after a first run (built whole), incremental runs (new
 * days and a late event for an old day) and a ranged run.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runJobs } from '@lambdamart/batch-layer';
import type { Config, Pool } from '@lambdamart/core';
import { insertOrder, json, withApiDatabases, withApp } from '@lambdamart/serving-api/testing';
import type { FastifyInstance } from 'fastify';

const runFacts = (config: Config, options: { from?: string; to?: string } = {}) =>
  runJobs(config, ['facts'], { ...options, triggeredBy: 'test', logger: undefined });

const urls = [
  '/api/v1/kpis?from=2026-11-10&to=2026-11-20',
  '/api/v1/kpis?from=2026-11-15&to=2026-11-20&source=batch',
  '/api/v1/kpis?from=2026-11-18&to=2026-11-20&country=FR',
  '/api/v1/kpis?from=2026-11-19&to=2026-11-20&country=US&source=batch',
  '/api/v1/kpis?from=2026-11-01&to=2026-11-30',
  '/api/v1/sales?from=2026-11-01&to=2026-11-30&interval=day',
  '/api/v1/sales?from=2026-11-01&to=2026-11-30&interval=week&split_by=country',
  '/api/v1/sales?from=2026-11-01&to=2026-11-30&interval=month&country=FR&source=batch',
  '/api/v1/sales?from=2026-11-10&to=2026-11-20&interval=day&split_by=country&country=US',
];

async function answers(app: FastifyInstance): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const url of urls) {
    const response = await app.inject(url);
    assert.equal(response.statusCode, 200, `${url}: ${response.body}`);
    const { as_of: _asOf, ...body } = json(response);
    out.push({ url, ...body });
  }
  return out;
}

/** The answers from the aggregate, then from the lines (the aggregate's state removed for a moment): equal. */
async function assertSameAsLines(app: FastifyInstance, wh: Pool): Promise<void> {
  const current = await wh.query(
    `select 1 from sales_daily_state s, etl_watermarks w where w.job_name = 'facts' and s.facts_watermark = w.watermark`,
  );
  assert.equal(current.rowCount, 1, 'the facts run left the aggregate current');
  const fromAggregate = await answers(app);
  const state = await wh.query('delete from sales_daily_state returning *');
  try {
    assert.deepEqual(fromAggregate, await answers(app));
  } finally {
    const row = state.rows[0] as Record<string, unknown>;
    await wh.query(
      'insert into sales_daily_state (only_row, facts_watermark, customer_bits, refreshed_by_run, refreshed_at) values ($1, $2, $3, $4, $5)',
      [row.only_row, row.facts_watermark, row.customer_bits, row.refreshed_by_run, row.refreshed_at],
    );
  }
}

describe('API daily sales aggregate', () => {
  it('answers exactly as the fact lines, after a first, an incremental and a ranged facts run', async () => {
    await withApiDatabases('api_sales_daily', { API_CACHE: 'off' }, async ({ config, rt, wh }) => {
      const order = (user: string, at: string, country: string, lines: [string, number, number][]) =>
        insertOrder(rt, { user, at, country, lines });
      await order('a', '2026-11-12T08:00:00Z', 'FR', [['p1', 1, 10]]);
      await order('a', '2026-11-18T09:00:00Z', 'US', [
        ['p1', 2, 10],
        ['p2', 1, 2.5],
      ]);
      await order('b', '2026-11-18T23:59:59Z', 'FR', [['p3', 3, 1.25]]);
      await order('c', '2026-11-19T00:00:00Z', 'FR', [['p2', 1, 7]]);
      await order('b', '2026-11-20T10:00:00Z', 'US', [['p1', 1, 10]]);
      await order('d', '2026-11-20T23:00:00Z', 'DE', [['p4', 4, 0.99]]);
      await runFacts(config);

      await withApp({ config }, async (app) => {
        await assertSameAsLines(app, wh);
        // It is the aggregate that answered: change it, and the answer changes.
        await wh.query(`update sales_daily set revenue = revenue + 1000 where event_date = '2026-11-12' and country is null`);
        const changed = json<{ current: { revenue: number } }>(await app.inject('/api/v1/kpis?from=2026-11-10&to=2026-11-20&source=batch'));
        assert.equal(changed.current.revenue, 1000 + 10 + 22.5 + 3.75 + 7 + 10 + 3.96);
        await wh.query(`update sales_daily set revenue = revenue - 1000 where event_date = '2026-11-12' and country is null`);

        // Speed-side orders (after the run), one of a customer the batch side counts: once.
        await order('a', '2026-11-20T12:00:00Z', 'FR', [['p1', 1, 10]]);
        await order('e', '2026-11-11T12:00:00Z', 'US', [['p2', 2, 7]]);
        const merged = json<{ current: { customers: number; orders: number } }>(
          await app.inject('/api/v1/kpis?from=2026-11-10&to=2026-11-20'),
        );
        assert.deepEqual([merged.current.customers, merged.current.orders], [5, 8]);
        await assertSameAsLines(app, wh);

        // An incremental run: a new day, and the late order of an old day.
        await runFacts(config);
        await order('f', '2026-11-21T01:00:00Z', 'DE', [['p1', 1, 10]]);
        await order('a', '2026-11-02T01:00:00Z', 'DE', [['p3', 1, 1.25]]);
        await runFacts(config);
        await assertSameAsLines(app, wh);

        // A ranged run loads the days it is given, leaving the watermark alone.
        await order('g', '2026-11-15T05:00:00Z', 'FR', [['p2', 1, 7]]);
        await runFacts(config, { from: '2026-11-15', to: '2026-11-16' });
        await assertSameAsLines(app, wh);
        const batchOnly = json<{ current: { orders: number; customers: number } }>(
          await app.inject('/api/v1/kpis?from=2026-11-01&to=2026-11-30&source=batch'),
        );
        assert.deepEqual([batchOnly.current.orders, batchOnly.current.customers], [11, 7]);
      });
    });
  });
});
