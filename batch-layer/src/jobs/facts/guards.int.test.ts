import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Pool } from '@lambdamart/core';
import { runJobs } from '../../runner/runner.ts';
import { addCatalog, addOrder, addView, snapshotWarehouse, withBatchDatabases } from '../../testing/fixtures.ts';

async function addHistory(rt: Pool): Promise<void> {
  await addCatalog(rt, 'p1', '2025-12-01T00:00:00Z', { price: 10, category: 'Books' });
  await addCatalog(rt, 'p2', '2025-12-01T00:00:00Z', { price: 4, category: 'Home' });
  await addOrder(rt, {
    user: 'u1',
    at: '2026-01-10T10:00:00Z',
    lines: [
      ['p1', 1, 10],
      ['p2', 2, 4],
    ],
  });
  await addView(rt, 'u1', 'p1', '2026-01-11T09:00:00Z');
  await addOrder(rt, { user: 'u2', at: '2026-03-05T10:00:00Z', country: 'FR', lines: [['p2', 1, 4]] });
}

/** The facts run fails naming `check`, records it as an error, and leaves the warehouse as it was. */
async function assertGuarded(wh: Pool, run: () => Promise<unknown>, check: string): Promise<void> {
  const before = await snapshotWarehouse(wh);
  await assert.rejects(run(), new RegExp(`data-quality check ${check} failed`));
  assert.deepEqual(await snapshotWarehouse(wh), before, 'the last good warehouse stays');
  const { rows } = await wh.query(
    `select r.job_name, r.status, d.check_name, d.severity, d.passed from job_runs r join data_quality_results d using (run_id)
     where r.run_id = (select max(run_id) from job_runs)`,
  );
  assert.deepEqual(rows, [{ job_name: 'facts', status: 'failed', check_name: check, severity: 'error', passed: false }]);
}

describe('the facts job guards publication', () => {
  it('an order whose raw total is not the sum of its lines fails the facts run, which publishes nothing', async () => {
    await withBatchDatabases('guard_revenue', async ({ config, rt, wh }) => {
      await addHistory(rt);
      await runJobs(config, 'all', { triggeredBy: 'test' });
      // Bad input: a total that is not the sum of its lines (the savers refuse it; a bug would not).
      const bad = await addOrder(rt, { user: 'u1', at: '2026-03-06T10:00:00Z', lines: [['p1', 2, 10]] });
      await rt.query('update transactions set total_amount = 99 where transaction_id = $1', [bad]);
      await runJobs(config, ['dimensions'], { triggeredBy: 'test' });
      await assertGuarded(wh, () => runJobs(config, ['facts'], { triggeredBy: 'test' }), 'fact_revenue_matches_raw');
      const error = await wh.query(`select error from job_runs where job_name = 'facts' order by run_id desc limit 1`);
      assert.match(error.rows[0]?.error, new RegExp(bad));
      // A full refresh publishes nothing either.
      await assertGuarded(wh, () => runJobs(config, ['facts'], { fullRefresh: true, triggeredBy: 'test' }), 'fact_revenue_matches_raw');
      // Once the raw order is put right, the run publishes it.
      await rt.query('update transactions set total_amount = 20 where transaction_id = $1', [bad]);
      await runJobs(config, ['facts'], { triggeredBy: 'test' });
      const loaded = await wh.query('select sum(total_amount)::text as revenue from fact_sales where transaction_id = $1', [bad]);
      assert.equal(loaded.rows[0]?.revenue, '20.00');
    });
  });

  it('a fact that would point at no dimension row fails the facts run', async () => {
    await withBatchDatabases('guard_dimensions', async ({ config, rt, wh }) => {
      await addHistory(rt);
      await runJobs(config, 'all', { triggeredBy: 'test' });
      // A broken dimension: the unknown product member is gone, and a view of an unknown product arrives.
      await wh.query('delete from dim_products where product_id_pk = -1');
      await addView(rt, 'u1', 'p-unknown', '2026-03-06T09:00:00Z');
      await assertGuarded(wh, () => runJobs(config, ['facts'], { triggeredBy: 'test' }), 'facts_have_dimension_rows');
    });
  });
});
