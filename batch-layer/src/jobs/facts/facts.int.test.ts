import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Pool } from '@lambdamart/core';
import { runJobs } from '../../runner/runner.ts';
import { addCart, addCatalog, addManyViews, addOrder, addView, killBatchRun, withBatchDatabases } from '../../testing/fixtures.ts';

const factTables = ['fact_sales', 'fact_product_views', 'fact_cart_events'];

/** fact_load_dates of one run: "fact date rows" lines, sorted. */
async function loadDates(wh: Pool, runId: number): Promise<string[]> {
  const { rows } = await wh.query<{ line: string }>(
    `select fact || ' ' || event_date::text || ' ' || rows as line from fact_load_dates where run_id = $1 order by 1`,
    [runId],
  );
  return rows.map((r) => r.line);
}

/** Every fact row (without created_at), per table. */
async function facts(wh: Pool): Promise<Record<string, unknown[]>> {
  const snapshot: Record<string, unknown[]> = {};
  for (const table of factTables) {
    const { rows } = await wh.query(`select * from ${table} order by event_id`);
    snapshot[table] = rows.map(({ created_at: _c, ...rest }) => rest);
  }
  return snapshot;
}

async function buildTables(wh: Pool): Promise<string[]> {
  const { rows } = await wh.query<{ name: string }>(
    `select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'fact_build'`,
  );
  return rows.map((r) => r.name);
}

describe('facts: loads recorded per date, full refresh built aside and swapped in', () => {
  it('each run records the rows it loaded per fact and event date; a full refresh records every date', async () => {
    await withBatchDatabases('loads', async ({ config, rt, wh }) => {
      await addCatalog(rt, 'p1', '2025-01-01T00:00:00Z', { price: 5 });
      await addOrder(rt, {
        user: 'u1',
        at: '2026-03-01T10:00:00Z',
        lines: [
          ['p1', 1, 5],
          ['p1', 2, 5],
        ],
      });
      await addView(rt, 'u1', 'p1', '2026-03-01T09:00:00Z');
      await addView(rt, 'u2', 'p1', '2026-03-02T09:00:00Z');
      await addCart(rt, 'u1', 'p1', '2026-03-01T09:30:00Z');
      const [first] = await runJobs(config, ['facts'], { triggeredBy: 'test' });
      assert.deepEqual(await loadDates(wh, first?.runId ?? 0), [
        'fact_cart_events 2026-03-01 1',
        'fact_product_views 2026-03-01 1',
        'fact_product_views 2026-03-02 1',
        'fact_sales 2026-03-01 2',
      ]);

      const [rerun] = await runJobs(config, ['facts'], { triggeredBy: 'test' });
      assert.equal(rerun?.rowsOut, 0);
      assert.deepEqual(await loadDates(wh, rerun?.runId ?? 0), [], 'no rows loaded, no dates recorded');

      // A late view: only its date changed.
      await addView(rt, 'u2', 'p1', '2026-01-15T09:00:00Z');
      const [late] = await runJobs(config, ['facts'], { triggeredBy: 'test' });
      assert.deepEqual(await loadDates(wh, late?.runId ?? 0), ['fact_product_views 2026-01-15 1']);

      const [full] = await runJobs(config, ['facts'], { fullRefresh: true, triggeredBy: 'test' });
      assert.deepEqual(await loadDates(wh, full?.runId ?? 0), [
        'fact_cart_events 2026-03-01 1',
        'fact_product_views 2026-01-15 1',
        'fact_product_views 2026-03-01 1',
        'fact_product_views 2026-03-02 1',
        'fact_sales 2026-03-01 2',
      ]);
    });
  });

  it('a full refresh gives the facts an incremental run gave, whatever the tables held before', async () => {
    await withBatchDatabases('swap', async ({ config, rt, wh }) => {
      await addCatalog(rt, 'p1', '2025-01-01T00:00:00Z', { price: 10 });
      await addCatalog(rt, 'p1', '2026-02-01T00:00:00Z', { price: 12 });
      await addOrder(rt, { user: 'u1', at: '2026-01-20T12:00:00Z', country: 'DE', lines: [['p1', 3, 10]] });
      await addOrder(rt, { user: 'u1', at: '2026-02-20T12:00:00Z', country: 'FR', lines: [['p1', 1, 12]] });
      await addView(rt, 'u1', 'p1', '2026-02-10T08:00:00Z', 'JP');
      await addCart(rt, 'u3', 'p2', '2026-02-11T08:00:00Z', 'remove');
      await runJobs(config, ['dimensions', 'facts'], { triggeredBy: 'test' });
      const incremental = await facts(wh);

      // Rows no event stands behind: in a month with events, and in one without.
      for (const [id, date] of [
        ['00000000-0000-4000-8000-000000000001', '2026-02-15'],
        ['00000000-0000-4000-8000-000000000002', '2025-06-15'],
      ]) {
        await wh.query(
          `insert into fact_product_views (event_id, date_id, customer_id, product_id_pk, geography_id, user_id, product_id,
             session_id, view_duration, event_timestamp, event_date, ingested_at)
           values ($1, to_char($2::date, 'YYYYMMDD')::integer, -1, -1, -1, 'u9', 'p9', 's', 1, $2::date, $2::date, now())`,
          [id, date],
        );
      }
      await runJobs(config, ['dimensions', 'facts'], { fullRefresh: true, triggeredBy: 'test' });
      assert.deepEqual(await facts(wh), incremental);
      assert.deepEqual(await buildTables(wh), [], 'nothing left in fact_build');
      const { rows } = await wh.query<{ n: number }>(`select count(*)::int as n from pg_constraint where conname = 'partition_bound'`);
      assert.equal(rows[0]?.n, 0, 'the build-time bound checks are gone');
    });
  });

  it('kill -9 mid full refresh leaves the previous facts; the next one clears the half-built tables', async () => {
    await withBatchDatabases('fullkill', async (dbs) => {
      const { config, rt, wh } = dbs;
      await addCatalog(rt, 'p1', '2025-01-01T00:00:00Z', { price: 2 });
      await addOrder(rt, { user: 'u1', at: '2026-01-01T10:00:00Z', lines: [['p1', 1, 2]] });
      await runJobs(config, 'all', { triggeredBy: 'test' });
      const before = await facts(wh);
      await addManyViews(rt, 300000, 10);
      await killBatchRun(dbs, ['batch', 'run', 'facts', '--full-refresh'], {
        what: 'the child started building in fact_build',
        holds: async () => (await buildTables(wh)).length > 0,
        timeoutMs: 30_000,
      });
      assert.deepEqual(await facts(wh), before, 'the killed full refresh left the facts alone');

      const [report] = await runJobs(config, ['facts'], { fullRefresh: true, triggeredBy: 'test' });
      assert.equal(report?.rowsOut, 300001);
      assert.deepEqual(await buildTables(wh), []);
    });
  });
});
