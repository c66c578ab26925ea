/**
 * `lambdamart speed` as separate processes: killed with SIGKILL mid-stream and restarted, and two
 * processes sharing the partitions of one group. Exactly N rows either way.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig, type Pool } from '@lambdamart/core';
import { withPool, withTempDatabase } from '@lambdamart/test-helpers';
import { migrateUp } from '@lambdamart/warehouse';
import {
  cartEvent,
  messagesOf,
  productView,
  realtimeCounts,
  sendAll,
  topicsPerTest,
  transaction,
  waitFor,
  withProducer,
} from './testing/index.ts';
import { healthOf, spawnSaver } from './testing/process.ts';

const config = loadConfig();

/** The speed view must agree with the raw rows: nothing counted twice, nothing missed. */
async function assertSpeedViewMatchesRows(pool: Pool): Promise<void> {
  const { rows } = await pool.query<{ same: boolean; detail: string }>(
    `select (select coalesce(sum(views), 0) from speed_minute_metrics) = (select count(*) from product_view_events)
        and (select coalesce(sum(cart_adds + cart_removes), 0) from speed_minute_metrics) = (select count(*) from cart_events)
        and (select coalesce(sum(units), 0) from speed_minute_metrics) = (select coalesce(sum(quantity), 0) from transaction_items)
        and (select coalesce(sum(revenue), 0) from speed_minute_metrics) = (select coalesce(sum(total_amount), 0) from transactions) as same,
        (select coalesce(sum(views), 0) from speed_minute_metrics)::text || ' views counted, ' ||
        (select count(*) from product_view_events)::text || ' saved' as detail`,
  );
  assert.ok(rows[0]?.same, `speed_minute_metrics matches the raw rows (${rows[0]?.detail})`);
}

describe('savers as processes', { timeout: 85_000 }, () => {
  /** Topics of one test: a suffix of its own, deleted at the end. */
  const ownTopics = topicsPerTest(config);

  it('kill -9 mid-stream twice, restart: exactly N rows, and the speed view agrees', async () => {
    const { suffix, topics } = await ownTopics('speed-crash');
    await withTempDatabase('crash', async (url) => {
      await migrateUp('realtime', url);
      const views = Array.from({ length: 40_000 }, (_, i) => productView(i));
      const txs = Array.from({ length: 5_000 }, (_, i) => transaction(i));
      await withProducer(config, async (producer) => {
        await sendAll(producer, topics.productViews, messagesOf(views, 'user_id'), 5000);
        await sendAll(producer, topics.transactions, messagesOf(txs, 'user_id'), 5000);
      });
      await withPool(url, async (pool) => {
        const saved = async () => {
          const c = await realtimeCounts(pool);
          return c.views + c.transactions;
        };
        for (const kill of [2_000, 15_000]) {
          const saver = await spawnSaver({ databaseUrl: url, group: 'crash', topicSuffix: suffix, extraArgs: ['--concurrency', '2'] });
          const before = await waitFor(saved, (n) => n >= kill, 40_000, 20);
          saver.child.kill('SIGKILL');
          const { signal } = await saver.exited;
          assert.equal(signal, 'SIGKILL');
          assert.ok(before < 45_000, `killed mid-stream (${before} of 45000 saved)`);
        }
        const last = await spawnSaver({ databaseUrl: url, group: 'crash', topicSuffix: suffix });
        try {
          const counts = await waitFor(
            () => realtimeCounts(pool),
            (c) => c.views >= 40_000 && c.transactions >= 5_000,
            40_000,
          );
          // A little longer: a duplicate would show up now.
          await new Promise((r) => setTimeout(r, 500));
          assert.deepEqual(await realtimeCounts(pool), counts);
          assert.equal(counts.views, 40_000);
          assert.equal(counts.transactions, 5_000);
          assert.equal(
            counts.items,
            txs.reduce((n, t) => n + t.products.length, 0),
          );
          await assertSpeedViewMatchesRows(pool);
        } finally {
          last.child.kill('SIGTERM');
          assert.deepEqual(await last.exited, { code: 0, signal: null }, 'SIGTERM: a clean exit 0');
        }
      });
    });
  });

  it('two processes share the partitions of one group and still save exactly N; SIGTERM exits 0', async () => {
    const { suffix, topics } = await ownTopics('speed-share');
    await withTempDatabase('share', async (url) => {
      await migrateUp('realtime', url);
      const one = await spawnSaver({ databaseUrl: url, group: 'share', topicSuffix: suffix });
      const two = await spawnSaver({ databaseUrl: url, group: 'share', topicSuffix: suffix });
      try {
        // Both in the group, each with some of the partitions.
        const assigned = async () => {
          const [a, b] = await Promise.all([healthOf(one), healthOf(two)]);
          const count = (h: typeof a) => Object.values((h.body.assignment ?? {}) as Record<string, number[]>).flat().length;
          return [count(a), count(b)];
        };
        const split = await waitFor(assigned, ([a = 0, b = 0]) => a > 0 && b > 0 && a + b === 12, 40_000, 250);
        assert.ok((split[0] ?? 0) > 0 && (split[1] ?? 0) > 0, `both processes hold partitions (${split.join(' + ')})`);
        const carts = Array.from({ length: 6_000 }, (_, i) => cartEvent(i));
        await withProducer(config, async (producer) => {
          await sendAll(producer, topics.cartEvents, messagesOf(carts, 'user_id'), 3000);
        });
        await withPool(url, async (pool) => {
          const counts = await waitFor(
            () => realtimeCounts(pool),
            (c) => c.carts >= 6_000,
            30_000,
          );
          assert.equal(counts.carts, 6_000);
          await assertSpeedViewMatchesRows(pool);
        });
      } finally {
        one.child.kill('SIGTERM');
        two.child.kill('SIGTERM');
        assert.deepEqual(await one.exited, { code: 0, signal: null });
        assert.deepEqual(await two.exited, { code: 0, signal: null });
      }
    });
  });
});
