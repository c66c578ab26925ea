/**
 * The Lambda merge of the API against the real batch layer: events saved before and after facts
 * runs, one ingested while a run is going, and runs committing while requests are answered.
 * Batch side + speed side must count every order exactly once.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runJobs } from '@lambdamart/batch-layer';
import type { Config } from '@lambdamart/core';
import { insertOrder, json, withApiDatabases, withApp } from '@lambdamart/serving-api/testing';
import type { FastifyInstance } from 'fastify';

interface Kpis {
  source: string;
  batch_until: string | null;
  current: { revenue: number; orders: number; customers: number; units: number };
}

const day = '2026-11-20';
const kpis = async (app: FastifyInstance, source?: string): Promise<Kpis> => {
  const response = await app.inject(`/api/v1/kpis?from=${day}&to=${day}${source ? `&source=${source}` : ''}`);
  assert.equal(response.statusCode, 200, response.body);
  return json<Kpis>(response);
};
const figures = (k: Kpis) => ({
  orders: k.current.orders,
  revenue: k.current.revenue,
  units: k.current.units,
  customers: k.current.customers,
});
const runFacts = (config: Config, options: { from?: string; to?: string } = {}) =>
  runJobs(config, ['facts'], { ...options, triggeredBy: 'test', logger: undefined });

describe('API merge: batch + speed count each order once', () => {
  it('splits at the warehouse: orders before and after a run, and one ingested while it ran', async () => {
    await withApiDatabases('api_merge', { API_CACHE: 'off' }, async ({ config, rt }) => {
      await insertOrder(rt, { user: 'a', at: `${day}T08:00:00Z`, lines: [['p1', 1, 10]] });
      await insertOrder(rt, {
        user: 'b',
        at: `${day}T09:00:00Z`,
        lines: [
          ['p1', 2, 10],
          ['p2', 1, 2.5],
        ],
      });
      // An order whose saver transaction began before the run and commits after it: its
      // ingested_at (the transaction's start) is older than the watermark the run sets.
      const late = await rt.connect();
      await late.query('begin');
      await insertOrder(late, { user: 'c', at: `${day}T10:00:00Z`, lines: [['p3', 3, 1.25]] });
      await new Promise((resolve) => setTimeout(resolve, 50));
      await insertOrder(rt, { user: 'a', at: `${day}T11:00:00Z`, lines: [['p2', 1, 7]] });
      await runFacts(config);
      await late.query('commit');
      late.release();
      await insertOrder(rt, { user: 'd', at: `${day}T12:00:00Z`, lines: [['p1', 1, 10]] });

      const all = { orders: 5, revenue: 10 + 22.5 + 3.75 + 7 + 10, units: 1 + 3 + 3 + 1 + 1, customers: 4 };
      await withApp({ config }, async (app) => {
        const merged = await kpis(app);
        assert.equal(merged.source, 'merged');
        assert.ok(merged.batch_until, 'the facts run set a watermark');
        assert.deepEqual(figures(merged), all);
        // The batch side holds the three orders the run saw; the speed side the late one and d.
        assert.deepEqual(figures(await kpis(app, 'batch')), { orders: 3, revenue: 39.5, units: 5, customers: 2 });
        assert.deepEqual(figures(await kpis(app, 'speed')), { orders: 2, revenue: 13.75, units: 4, customers: 2 });

        // The next run picks the late order up through its lookback: still counted once.
        await runFacts(config);
        assert.deepEqual(figures(await kpis(app)), all);
        assert.equal((await kpis(app, 'speed')).current.orders, 0);

        // /sales by day agrees with /kpis.
        const sales = json<{ data: { orders: number; revenue: number }[] }>(await app.inject(`/api/v1/sales?from=${day}&to=${day}`));
        assert.deepEqual(
          sales.data.map((p) => [p.orders, p.revenue]),
          [[5, all.revenue]],
        );
      });
    });
  });

  it('stays exact while batch runs commit during the requests (ranged runs included)', async () => {
    await withApiDatabases('api_merge_race', { API_CACHE: 'off' }, async ({ config, rt }) => {
      let expectedCents = 0;
      for (let i = 0; i < 60; i++) {
        const hour = String(i % 24).padStart(2, '0');
        const d = ['2026-11-18', '2026-11-19', '2026-11-20'][i % 3];
        await insertOrder(rt, { user: `u${i % 17}`, at: `${d}T${hour}:15:00Z`, lines: [[`p${i % 5}`, 1 + (i % 3), 1 + i / 100]] });
        expectedCents += (1 + (i % 3)) * Math.round((1 + i / 100) * 100);
      }
      await withApp({ config }, async (app) => {
        let stop = false;
        const answers: number[][] = [];
        const reader = (async () => {
          while (!stop) {
            const response = await app.inject('/api/v1/kpis?from=2026-11-18&to=2026-11-20');
            const body = json<Kpis>(response);
            answers.push([body.current.orders, Math.round(body.current.revenue * 100)]);
          }
        })();
        // Ranged runs load rows ingested after the watermark without moving it; the last run is incremental.
        for (const range of [
          { from: '2026-11-18', to: '2026-11-18' },
          { from: '2026-11-19', to: '2026-11-19' },
          {},
          { from: '2026-11-20', to: '2026-11-20' },
        ]) {
          await runFacts(config, range);
        }
        stop = true;
        await reader;
        assert.ok(answers.length >= 4, `answers while the runs committed: ${answers.length}`);
        for (const answer of answers) assert.deepEqual(answer, [60, expectedCents]);
      });
    });
  });

  it("drops cached answers when a batch run commits (the runner's NOTIFY)", async () => {
    await withApiDatabases('api_merge_cache', {}, async ({ config, rt }) => {
      await insertOrder(rt, { user: 'a', at: `${day}T08:00:00Z`, lines: [['p1', 1, 10]] });
      await withApp({ config }, async (app) => {
        const batchOrders = async () => {
          const response = await app.inject(`/api/v1/kpis?from=${day}&to=${day}&source=batch`);
          return [response.headers['x-cache'], json<Kpis>(response).current.orders];
        };
        assert.deepEqual(await batchOrders(), ['miss', 0]);
        assert.deepEqual(await batchOrders(), ['hit', 0]);
        await runFacts(config);
        let after = await batchOrders();
        for (let i = 0; i < 50 && after[1] !== 1; i++) {
          await new Promise((resolve) => setTimeout(resolve, 100));
          after = await batchOrders();
        }
        assert.deepEqual(after, ['miss', 1]);
      });
    });
  });
});
