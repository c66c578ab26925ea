import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { purgeArchived } from '../../purge/purge.ts';
import { runJobs } from '../../runner/runner.ts';
import { addCart, addCatalog, addOrder, addView, snapshotWarehouse, withBatchDatabases } from '../../testing/fixtures.ts';

describe('the Parquet lake', () => {
  it('a warehouse rebuilt from the lake after a purge equals the one built incrementally', async () => {
    await withBatchDatabases('lake', async ({ config, rt, wh, lakeDir }) => {
      const old = new Date(Date.now() - 40 * 86_400_000).toISOString();
      await addCatalog(rt, 'p1', '2025-01-01T00:00:00Z', { price: 10, category: 'Books' });
      await addCatalog(rt, 'p2', '2025-01-01T00:00:00Z', { price: 4, category: 'Home' });
      await addOrder(rt, {
        user: 'u1',
        at: '2025-12-30T10:00:00Z',
        lines: [
          ['p1', 1, 10],
          ['p2', 2, 4],
        ],
        ingestedAt: old,
      });
      await addOrder(rt, { user: 'u2', at: '2026-01-03T10:00:00Z', country: 'DE', lines: [['p2', 1, 4]], ingestedAt: old });
      await addView(rt, 'u1', 'p1', '2025-12-30T09:00:00Z');
      await runJobs(config, 'all', { to: '2026-01-31', triggeredBy: 'test' });
      // A second, incremental day: a price change, a move, new events.
      await addCatalog(rt, 'p1', '2026-01-10T00:00:00Z', { price: 12, category: 'Books' });
      await addOrder(rt, { user: 'u1', at: '2026-01-11T10:00:00Z', country: 'FR', lines: [['p1', 3, 12]] });
      await addCart(rt, 'u2', 'p1', '2026-01-11T11:00:00Z');
      await runJobs(config, 'all', { to: '2026-01-31', triggeredBy: 'test' });
      // Ranged runs leave the watermarks alone, and purge deletes only what the dimensions and
      // facts watermarks say is loaded: unranged runs (nothing new to load) set them.
      await runJobs(config, ['dimensions', 'facts'], { triggeredBy: 'test' });
      const incremental = await snapshotWarehouse(wh);

      const datasets = await readdir(lakeDir);
      for (const name of ['transactions', 'transaction_items', 'product_views', 'cart_events', 'product_catalog']) {
        assert.ok(datasets.includes(name), `the lake has ${name}`);
      }
      assert.ok((await readdir(`${lakeDir}/transactions`)).includes('date=2025-12-30'), 'partitioned by event date');

      // The archived rows older than 30 days leave the realtime database...
      const purged = await purgeArchived(config, { olderThanDays: 30 });
      assert.equal(purged.deleted.transactions, 2);
      const left = await rt.query<{ n: number }>('select count(*)::int as n from transaction_items');
      assert.equal(left.rows[0]?.n, 1, 'their lines went with them');

      // ...and a full refresh from the lake rebuilds the same warehouse.
      await runJobs(config, 'all', { fullRefresh: true, to: '2026-01-31', triggeredBy: 'test' });
      const rebuilt = await snapshotWarehouse(wh);
      for (const table of Object.keys(incremental)) {
        assert.deepEqual(rebuilt[table], incremental[table], `${table} rebuilt from the lake`);
      }
    });
  });
});
