/**
 * sales_trends against both engines: growth compares with the calendar-previous period (a month
 * without sales in between gives NULL, not a comparison with the month before it), and the
 * period the analysis date falls in is marked incomplete.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AnalyticsEngine } from '../../runner/job.ts';
import { runJobs } from '../../runner/runner.ts';
import { addCatalog, addOrder, withBatchDatabases } from '../../testing/fixtures.ts';

describe('sales_trends', () => {
  for (const engine of ['duckdb', 'postgres'] as AnalyticsEngine[]) {
    it(`${engine}: growth vs the calendar-previous month (NULL after a month without sales); the current period is not complete`, async () => {
      await withBatchDatabases(`trends_gap_${engine}`, async ({ config, rt, wh }) => {
        await addCatalog(rt, 'gap', '2025-01-01T00:00:00Z', { price: 10, category: 'Garden' });
        await addCatalog(rt, 'steady', '2025-01-01T00:00:00Z', { price: 10, category: 'Books' });
        // Garden sells in January and March only; Books every month, April still running.
        await addOrder(rt, { user: 'u1', at: '2026-01-10T12:00:00Z', lines: [['gap', 10, 10]] });
        await addOrder(rt, { user: 'u1', at: '2026-03-10T12:00:00Z', lines: [['gap', 5, 10]] });
        await addOrder(rt, { user: 'u2', at: '2026-01-12T12:00:00Z', lines: [['steady', 4, 10]] });
        await addOrder(rt, { user: 'u2', at: '2026-02-12T12:00:00Z', lines: [['steady', 2, 10]] });
        await addOrder(rt, { user: 'u2', at: '2026-03-12T12:00:00Z', lines: [['steady', 3, 10]] });
        await addOrder(rt, { user: 'u2', at: '2026-04-02T12:00:00Z', lines: [['steady', 1, 10]] });
        await runJobs(config, 'all', { to: '2026-04-15', engine, triggeredBy: 'test' });
        const { rows } = await wh.query(
          `select category, period_value, total_revenue::float as revenue, growth_rate::float as growth, is_complete
           from sales_trends where period_type = 'month' order by category, period_start`,
        );
        assert.deepEqual(rows, [
          { category: 'Books', period_value: '2026-01', revenue: 40, growth: null, is_complete: true },
          { category: 'Books', period_value: '2026-02', revenue: 20, growth: -0.5, is_complete: true },
          { category: 'Books', period_value: '2026-03', revenue: 30, growth: 0.5, is_complete: true },
          { category: 'Books', period_value: '2026-04', revenue: 10, growth: -0.666667, is_complete: false },
          { category: 'Garden', period_value: '2026-01', revenue: 100, growth: null, is_complete: true },
          { category: 'Garden', period_value: '2026-03', revenue: 50, growth: null, is_complete: true },
        ]);
        const quarters = await wh.query(
          `select category, period_value, growth_rate::float as growth, is_complete
           from sales_trends where period_type = 'quarter' order by category, period_start`,
        );
        assert.deepEqual(quarters.rows, [
          { category: 'Books', period_value: '2026-Q1', growth: null, is_complete: true },
          { category: 'Books', period_value: '2026-Q2', growth: -0.888889, is_complete: false },
          { category: 'Garden', period_value: '2026-Q1', growth: null, is_complete: true },
        ]);
      });
    });
  }

  it('a period that ends on the analysis date is not complete yet: that day may still be receiving sales', async () => {
    await withBatchDatabases('trends_edge', async ({ config, rt, wh }) => {
      await addCatalog(rt, 'p1', '2025-01-01T00:00:00Z', { price: 10 });
      await addOrder(rt, { user: 'u1', at: '2026-03-31T12:00:00Z', lines: [['p1', 1, 10]] });
      await runJobs(config, 'all', { to: '2026-03-31', triggeredBy: 'test' });
      const month = async () =>
        (await wh.query(`select is_complete from sales_trends where period_type = 'month' and period_value = '2026-03'`)).rows;
      assert.deepEqual(await month(), [{ is_complete: false }]);
      await runJobs(config, ['analytics'], { to: '2026-04-01', triggeredBy: 'test' });
      assert.deepEqual(await month(), [{ is_complete: true }]);
    });
  });
});
