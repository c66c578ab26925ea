import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Pool } from '@lambdamart/core';
import { runJobs } from '../runner/runner.ts';
import { addCatalog, addOrder, addView, withBatchDatabases } from '../testing/fixtures.ts';
import { purgeArchived } from './purge.ts';

const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString();

/** A catalog record ingested long ago: the dimensions watermark then follows the orders. */
async function addOldCatalog(rt: Pool): Promise<void> {
  await addCatalog(rt, 'p1', '2025-01-01T00:00:00Z', { price: 5 });
  await rt.query('update product_catalog_events set ingested_at = $1', [daysAgo(60)]);
}

async function rawOrders(rt: Pool): Promise<string[]> {
  const { rows } = await rt.query<{ id: string }>('select transaction_id::text as id from transactions order by transaction_timestamp');
  return rows.map((r) => r.id);
}

describe('purge', () => {
  it('deletes nothing the facts or dimensions have not loaded, even when the archive has it', async () => {
    await withBatchDatabases('purge_loaded', async ({ config, rt, wh }) => {
      await addOldCatalog(rt);
      const loadedLongAgo = await addOrder(rt, { user: 'u1', at: '2026-01-04T10:00:00Z', lines: [['p1', 1, 5]], ingestedAt: daysAgo(46) });
      const loaded = await addOrder(rt, { user: 'u1', at: '2026-01-05T10:00:00Z', lines: [['p1', 1, 5]], ingestedAt: daysAgo(45) });
      await runJobs(config, ['archive', 'dimensions', 'facts'], { triggeredBy: 'test' });
      // Archived, but not loaded yet: the facts and dimensions runs after them have not happened.
      const archivedOnly = await addOrder(rt, { user: 'u2', at: '2026-01-06T10:00:00Z', lines: [['p1', 2, 5]], ingestedAt: daysAgo(40) });
      const newest = await addOrder(rt, { user: 'u2', at: '2026-01-07T10:00:00Z', lines: [['p1', 3, 5]], ingestedAt: daysAgo(38) });
      await runJobs(config, ['archive'], { triggeredBy: 'test' });

      const purged = await purgeArchived(config, { olderThanDays: 30 });
      const factsWatermark = await wh.query<{ w: Date }>(`select watermark as w from etl_watermarks where job_name = 'facts'`);
      assert.deepEqual(
        purged.cutoff,
        new Date((factsWatermark.rows[0]?.w.getTime() ?? 0) - 10 * 60_000),
        'the facts watermark, less the lookback',
      );
      assert.equal(purged.deleted.transactions, 1);
      assert.deepEqual(await rawOrders(rt), [loaded, archivedOnly, newest]);
      assert.ok(!(await rawOrders(rt)).includes(loadedLongAgo));

      // The next runs still find the rows they had not loaded.
      await runJobs(config, ['dimensions', 'facts'], { triggeredBy: 'test' });
      const { rows } = await wh.query<{ id: string }>('select transaction_id::text as id from fact_sales order by transaction_timestamp');
      assert.deepEqual(
        rows.map((r) => r.id),
        [loadedLongAgo, loaded, archivedOnly, newest],
      );
    });
  });

  it('keeps the rows of an event date whose Parquet files are missing from the lake', async () => {
    await withBatchDatabases('purge_lake', async ({ config, rt, lakeDir }) => {
      await addOldCatalog(rt);
      const kept = await addOrder(rt, { user: 'u1', at: '2026-01-05T10:00:00Z', lines: [['p1', 1, 5]], ingestedAt: daysAgo(40) });
      const linesLost = await addOrder(rt, { user: 'u1', at: '2026-01-06T10:00:00Z', lines: [['p1', 1, 5]], ingestedAt: daysAgo(40) });
      const gone = await addOrder(rt, { user: 'u2', at: '2026-01-07T10:00:00Z', lines: [['p1', 1, 5]], ingestedAt: daysAgo(40) });
      // Ingested after the others: the watermarks, less the lookback, lie past them.
      const recent = await addOrder(rt, { user: 'u2', at: '2026-01-08T10:00:00Z', lines: [['p1', 1, 5]], ingestedAt: daysAgo(35) });
      const view = await addView(rt, 'u1', 'p1', '2026-01-05T09:00:00Z');
      await rt.query('update product_view_events set ingested_at = $1', [daysAgo(40)]);
      await runJobs(config, ['archive', 'dimensions', 'facts'], { triggeredBy: 'test' });
      // The lake lost a day of orders, a day of order lines and a day of views.
      await rm(join(lakeDir, 'transactions', 'date=2026-01-05'), { recursive: true });
      await rm(join(lakeDir, 'transaction_items', 'date=2026-01-06'), { recursive: true });
      await rm(join(lakeDir, 'product_views', 'date=2026-01-05'), { recursive: true });

      const purged = await purgeArchived(config, { olderThanDays: 30 });
      assert.deepEqual(purged.skipped, { transactions: ['2026-01-05', '2026-01-06'], product_view_events: ['2026-01-05'] });
      assert.equal(purged.deleted.transactions, 1);
      assert.deepEqual(await rawOrders(rt), [kept, linesLost, recent]);
      assert.ok(!(await rawOrders(rt)).includes(gone));
      const lines = await rt.query('select count(*)::int as n from transaction_items');
      assert.equal(lines.rows[0]?.n, 3, 'the kept orders keep their lines');
      const views = await rt.query<{ id: string }>('select event_id::text as id from product_view_events');
      assert.deepEqual(views.rows, [{ id: view }]);
    });
  });

  it('refuses an age under one day before touching anything', async () => {
    await withBatchDatabases('purge_zero', async ({ config, rt }) => {
      await addOldCatalog(rt);
      await addOrder(rt, { user: 'u1', at: '2026-01-05T10:00:00Z', lines: [['p1', 1, 5]], ingestedAt: daysAgo(40) });
      await runJobs(config, ['archive', 'dimensions', 'facts'], { triggeredBy: 'test' });
      await assert.rejects(purgeArchived(config, { olderThanDays: 0 }), /--older-than must be at least 1d/);
      assert.equal((await rawOrders(rt)).length, 1);
    });
  });
});
