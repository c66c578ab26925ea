import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Pool } from '@lambdamart/core';
import type { JobReport, RunOptions } from '../../runner/job.ts';
import { runJobs } from '../../runner/runner.ts';
import { addCart, addCatalog, addOrder, addView, withBatchDatabases } from '../../testing/fixtures.ts';
import { todayUtc } from './analytics-job.ts';

async function rows(wh: Pool, sql: string): Promise<Record<string, unknown>[]> {
  return (await wh.query(sql)).rows;
}

/** A pseudo-random sequence in [0, 1), the same on every run. */
function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

/** Every analytics row, without load times. */
async function analyticsTables(wh: Pool): Promise<Record<string, Record<string, unknown>[]>> {
  const tables = {
    product_performance: 'select * from product_performance order by analysis_date, product_id',
    rfm_analysis: 'select * from rfm_analysis order by analysis_date, user_id',
    customer_segments: 'select segment_name, customer_count, total_revenue, avg_order_value from customer_segments order by 1',
    sales_trends: 'select * from sales_trends order by period_type, period_value, category',
  };
  const result: Record<string, Record<string, unknown>[]> = {};
  for (const [table, sql] of Object.entries(tables)) result[table] = (await rows(wh, sql)).map(({ created_at: _c, ...r }) => r);
  return result;
}

const analyticsRun = (reports: JobReport[]) => reports.find((r) => r.job === 'analytics')?.details ?? {};

describe('analytics', () => {
  it('RFM: scores by quintile and segments on a hand-checked dataset; frequency counts orders, not lines', async () => {
    await withBatchDatabases('rfm', async ({ config, rt, wh }) => {
      await addCatalog(rt, 'p1', '2025-01-01T00:00:00Z', { price: 10 });
      const order = (user: string, day: string, lines: [string, number, number][]) =>
        addOrder(rt, { user, at: `2026-${day}T12:00:00Z`, lines });
      await order('a', '06-29', [
        ['p1', 1, 10],
        ['p1', 1, 20],
      ]);
      await order('a', '07-05', [['p1', 1, 99]]); // after the analysis date: ignored
      await order('b', '06-01', [['p1', 1, 100]]);
      await order('b', '06-20', [['p1', 1, 100]]);
      for (const day of ['03-01', '04-01', '05-01']) await order('c', day, [['p1', 1, 50]]);
      for (const day of ['01-01', '01-15', '02-01', '02-15']) await order('d', day, [['p1', 1, 10]]);
      for (const day of ['06-25', '06-26', '06-27', '06-28', '06-30']) await order('e', day, [['p1', 1, 100]]);
      await runJobs(config, 'all', { to: '2026-06-30', triggeredBy: 'test' });

      assert.deepEqual(
        await rows(
          wh,
          `select user_id, recency_days, frequency_count, monetary_value::float as m, recency_score, frequency_score, monetary_score, rfm_segment
           from rfm_analysis where analysis_date = '2026-06-30' order by user_id`,
        ),
        [
          {
            user_id: 'a',
            recency_days: 1,
            frequency_count: 1,
            m: 30,
            recency_score: 4,
            frequency_score: 1,
            monetary_score: 1,
            rfm_segment: 'Promising',
          },
          {
            user_id: 'b',
            recency_days: 10,
            frequency_count: 2,
            m: 200,
            recency_score: 3,
            frequency_score: 2,
            monetary_score: 4,
            rfm_segment: 'About to Sleep',
          },
          {
            user_id: 'c',
            recency_days: 60,
            frequency_count: 3,
            m: 150,
            recency_score: 2,
            frequency_score: 3,
            monetary_score: 3,
            rfm_segment: 'At Risk',
          },
          {
            user_id: 'd',
            recency_days: 135,
            frequency_count: 4,
            m: 40,
            recency_score: 1,
            frequency_score: 4,
            monetary_score: 2,
            rfm_segment: 'At Risk',
          },
          {
            user_id: 'e',
            recency_days: 0,
            frequency_count: 5,
            m: 500,
            recency_score: 5,
            frequency_score: 5,
            monetary_score: 5,
            rfm_segment: 'Champions',
          },
        ],
      );
      assert.deepEqual(
        await rows(
          wh,
          'select segment_name, customer_count, total_revenue::float as revenue, avg_order_value::float as aov from customer_segments order by 1',
        ),
        [
          { segment_name: 'About to Sleep', customer_count: 1, revenue: 200, aov: 100 },
          { segment_name: 'At Risk', customer_count: 2, revenue: 190, aov: 27.14 },
          { segment_name: 'Champions', customer_count: 1, revenue: 500, aov: 100 },
          { segment_name: 'Promising', customer_count: 1, revenue: 30, aov: 30 },
        ],
      );
    });
  });

  it('sales trends across a year boundary: ISO weeks labelled with their ISO year, growth vs the calendar-previous period', async () => {
    await withBatchDatabases('trends', async ({ config, rt, wh }) => {
      await addCatalog(rt, 'p1', '2025-01-01T00:00:00Z', { price: 10, category: 'Sports' });
      await addOrder(rt, { user: 'u1', at: '2025-12-30T12:00:00Z', lines: [['p1', 3, 10]] }); // ISO week 2026-W01
      await addOrder(rt, { user: 'u1', at: '2026-01-02T12:00:00Z', lines: [['p1', 1, 10]] }); // 2026-W01
      await addOrder(rt, { user: 'u1', at: '2026-12-31T12:00:00Z', lines: [['p1', 5, 10]] }); // 2026-W53
      await addOrder(rt, { user: 'u1', at: '2027-01-05T12:00:00Z', lines: [['p1', 6, 10]] }); // 2027-W01
      await runJobs(config, 'all', { to: '2027-01-31', triggeredBy: 'test' });
      const trends = await rows(
        wh,
        `select period_type, period_value, period_start::text as start, total_sales, total_revenue::float as revenue, growth_rate::float as growth
         from sales_trends order by period_type, period_start`,
      );
      const of = (type: string) => trends.filter((t) => t.period_type === type).map(({ period_type: _t, ...rest }) => rest);
      assert.deepEqual(of('week'), [
        { period_value: '2026-W01', start: '2025-12-29', total_sales: 2, revenue: 40, growth: null },
        { period_value: '2026-W53', start: '2026-12-28', total_sales: 1, revenue: 50, growth: null }, // no sales in W52
        { period_value: '2027-W01', start: '2027-01-04', total_sales: 1, revenue: 60, growth: 0.2 },
      ]);
      assert.deepEqual(of('month'), [
        { period_value: '2025-12', start: '2025-12-01', total_sales: 1, revenue: 30, growth: null },
        { period_value: '2026-01', start: '2026-01-01', total_sales: 1, revenue: 10, growth: -0.666667 },
        { period_value: '2026-12', start: '2026-12-01', total_sales: 1, revenue: 50, growth: null }, // none in November
        { period_value: '2027-01', start: '2027-01-01', total_sales: 1, revenue: 60, growth: 0.2 },
      ]);
      assert.deepEqual(
        of('quarter').map((q) => q.period_value),
        ['2025-Q4', '2026-Q1', '2026-Q4', '2027-Q1'],
      );
    });
  });

  it('DuckDB and Postgres give identical analytics tables', async () => {
    await withBatchDatabases('engines', async ({ config, rt, wh }) => {
      // A few hundred pseudo-random events with ties, odd cents and several categories.
      let seed = 42;
      const random = () => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        return seed / 2 ** 31;
      };
      const categories = ['Sports', 'Books', 'Home'];
      for (let p = 1; p <= 12; p++) {
        await addCatalog(rt, `p${p}`, '2025-06-01T00:00:00Z', { price: 3 + p * 1.37, category: categories[p % 3] });
        await addCatalog(rt, `p${p}`, '2026-02-01T00:00:00Z', { price: 4 + p * 1.11, category: categories[(p + 1) % 3] });
      }
      const day = () => new Date(Date.UTC(2025, 10, 1) + Math.floor(random() * 200) * 86_400_000 + 36_000_000).toISOString();
      for (let i = 0; i < 150; i++) {
        const lines: [string, number, number][] = [];
        for (let l = 0; l < 1 + Math.floor(random() * 3); l++) {
          lines.push([`p${1 + Math.floor(random() * 12)}`, 1 + Math.floor(random() * 3), Math.round(random() * 5000) / 100 + 0.01]);
        }
        await addOrder(rt, { user: `u${Math.floor(random() * 40)}`, at: day(), lines });
      }
      for (let i = 0; i < 200; i++) await addView(rt, `u${Math.floor(random() * 40)}`, `p${1 + Math.floor(random() * 12)}`, day());
      for (let i = 0; i < 80; i++) await addCart(rt, `u${Math.floor(random() * 40)}`, `p${1 + Math.floor(random() * 12)}`, day());

      const analytics = async () => ({
        product_performance: await rows(wh, 'select * from product_performance order by analysis_date, product_id'),
        rfm_analysis: await rows(wh, 'select * from rfm_analysis order by user_id'),
        customer_segments: await rows(
          wh,
          'select segment_name, customer_count, total_revenue, avg_order_value from customer_segments order by 1',
        ),
        sales_trends: await rows(wh, 'select * from sales_trends order by period_type, period_value, category'),
      });
      const withoutLoadTime = (tables: Record<string, Record<string, unknown>[]>) =>
        Object.fromEntries(Object.entries(tables).map(([t, rs]) => [t, rs.map(({ created_at: _c, ...r }) => r)]));

      await runJobs(config, 'all', { to: '2026-05-01', engine: 'postgres', triggeredBy: 'test' });
      const postgres = withoutLoadTime(await analytics());
      await runJobs(config, ['analytics'], { to: '2026-05-01', engine: 'duckdb', triggeredBy: 'test' });
      const duckdb = withoutLoadTime(await analytics());
      for (const table of Object.keys(postgres)) {
        assert.ok((postgres[table]?.length ?? 0) > 3, `${table} has rows`);
        assert.deepEqual(duckdb[table], postgres[table], `${table}: DuckDB = Postgres`);
      }
      // Something to compare: conversion and growth are not all NULL.
      assert.ok(postgres.product_performance?.some((r) => r.conversion_rate !== null));
      assert.ok(postgres.sales_trends?.some((r) => r.growth_rate !== null));
    });
  });

  it('a scheduled run gives what a full recompute gives: new and late days, a category change, re-pointed sales', async () => {
    await withBatchDatabases('incremental', async ({ config, rt, wh }) => {
      const upToAnalytics = ['dimensions', 'facts', 'analytics'];
      const random = seeded(7);
      const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)] as T;
      const products = ['p1', 'p2', 'p3', 'p4', 'p5'];
      const categories = ['Sports', 'Books', 'Home'];
      for (const [i, p] of products.entries())
        await addCatalog(rt, p, '2025-06-01T00:00:00Z', { price: 3 + i, category: categories[i % 3] });
      await addCatalog(rt, 'p3', '2026-03-25T00:00:00Z', { price: 9, category: 'Home' });
      // Events on `days` days from March 1st, 2026.
      const events = async (firstDay: number, days: number, count: number) => {
        const at = () =>
          new Date(Date.UTC(2026, 2, 1 + firstDay + Math.floor(random() * days), 8 + Math.floor(random() * 12))).toISOString();
        for (let i = 0; i < count; i++) {
          const user = `u${Math.floor(random() * 12)}`;
          await addOrder(rt, {
            user,
            at: at(),
            lines: [[pick(products), 1 + Math.floor(random() * 3), 1 + Math.round(random() * 4000) / 100]],
          });
          await addView(rt, user, pick(products), at());
          await addCart(rt, user, pick(products), at(), random() < 0.7 ? 'add' : 'remove');
        }
      };
      await events(0, 30, 60);
      const first = analyticsRun(await runJobs(config, upToAnalytics, { triggeredBy: 'test' }));
      assert.equal(first.replica, 'rebuilt: no replica recorded');
      const recomputed = async (options: RunOptions) => {
        const before = await analyticsTables(wh);
        const run = analyticsRun(await runJobs(config, ['analytics'], { ...options, triggeredBy: 'test' }));
        assert.deepEqual(before, await analyticsTables(wh), 'the same tables recomputed in full');
        return run;
      };

      // Twice the next days and some late ones: product_performance recomputed for those days,
      // the replica's views and cart events left behind until a run reads them all.
      for (const firstDay of [30, 31]) {
        await events(firstDay, 2, 15);
        await events(5, 20, 10);
        const changed = analyticsRun(await runJobs(config, upToAnalytics, { triggeredBy: 'test' }));
        assert.equal(changed.replica, 'refreshed');
        assert.deepEqual(changed.performance, { dates: (changed.performance as { dates: number }).dates, products: 0 });
      }
      assert.equal((await recomputed({ to: todayUtc() })).performance, 'all');

      // p2 moving to another category, and a p3 version arriving late inside its history (the
      // dimensions job re-points the sales it covers).
      await events(32, 1, 10);
      await addCatalog(rt, 'p2', '2026-03-31T00:00:00Z', { price: 4, category: 'Toys' });
      await addCatalog(rt, 'p3', '2026-03-10T00:00:00Z', { price: 7, category: 'Sports' });
      const recategorized = analyticsRun(await runJobs(config, upToAnalytics, { triggeredBy: 'test' }));
      assert.ok((recategorized.performance as { products: number }).products >= 1, 'p2 recomputed on every day');
      assert.ok((await analyticsTables(wh)).product_performance?.some((r) => r.product_id === 'p2' && r.category === 'Toys'));
      assert.equal((await recomputed({ fullRefresh: true })).replica, 'rebuilt: a full refresh');

      // After the PostgreSQL engine rewrote product_performance, DuckDB recomputes all of it once.
      await runJobs(config, ['analytics'], { engine: 'postgres', fullRefresh: true, triggeredBy: 'test' });
      await events(33, 1, 5);
      const afterPostgres = analyticsRun(await runJobs(config, upToAnalytics, { triggeredBy: 'test' }));
      assert.deepEqual([afterPostgres.replica, afterPostgres.performance], ['refreshed', 'all']);

      // A replica other than the recorded one (a run that died after writing it) is not trusted.
      await events(34, 1, 5);
      await wh.query('update analytics_replica set replica_id = gen_random_uuid()');
      const third = analyticsRun(await runJobs(config, upToAnalytics, { triggeredBy: 'test' }));
      assert.equal(third.replica, 'rebuilt: the replica file is not the recorded one');
    });
  });
});
