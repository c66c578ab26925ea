/**
 * The savers in this process against the real Kafka and Postgres: topics with a random suffix, a
 * temporary realtime database, group ids of their own.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createKafka, DeadLetterHeaders, loadConfig, type Pool } from '@lambdamart/core';
import { withPool, withTempDatabase } from '@lambdamart/test-helpers';
import { migrateUp } from '@lambdamart/warehouse';
import { startSavers } from './saver.ts';
import {
  badTransactionMessages,
  cartEvent,
  catalogRecord,
  createSaverTopics,
  deleteSaverTopics,
  messagesOf,
  PRODUCT_COUNT,
  productView,
  randomSuffix,
  realtimeCounts,
  sendAll,
  transaction,
  waitFor,
  withProducer,
} from './testing/index.ts';
import type { SaverTopics } from './topics.ts';

const config = loadConfig({ ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' });

async function metricTotals(pool: Pool) {
  const { rows } = await pool.query<Record<string, string>>(
    `select sum(revenue)::text as revenue, sum(units)::text as units, sum(views)::text as views,
            sum(cart_adds)::text as adds, sum(cart_removes)::text as removes, count(*) filter (where category = 'Unknown')::text as unknown
     from speed_minute_metrics`,
  );
  return rows[0];
}

describe('savers (in process)', { timeout: 85_000 }, () => {
  let topics: SaverTopics;
  before(async () => {
    topics = await createSaverTopics(config, randomSuffix('speed-int'));
  });
  after(async () => {
    await deleteSaverTopics(config, topics);
  });

  it('saves N events exactly once, dead-letters the bad ones with reasons, keeps the speed view, and a replay adds nothing', async () => {
    await withTempDatabase('speed', async (url) => {
      await migrateUp('realtime', url);
      const rtConfig = { ...config, realtimeDatabaseUrl: url };
      const txs = Array.from({ length: 300 }, (_, i) => transaction(i));
      const views = Array.from({ length: 500 }, (_, i) => productView(i));
      const carts = Array.from({ length: 200 }, (_, i) => cartEvent(i));
      const catalog = Array.from({ length: PRODUCT_COUNT }, (_, i) => catalogRecord(i));
      const newer = { ...catalogRecord(1, new Date('2026-02-01T00:00:00Z')), name: 'Renamed' };
      const older = { ...catalogRecord(2, new Date('2025-06-01T00:00:00Z')), name: 'Stale' };
      const bad = badTransactionMessages();

      await withPool(url, async (pool) => {
        await withProducer(config, async (producer) => {
          await sendAll(producer, topics.productCatalog, messagesOf([...catalog, newer, older], 'product_id'));
        });
        const savers = await startSavers(rtConfig, { group: 'it-main', topics, metricsPort: 0 });
        try {
          // The catalog first, so that the speed view knows every product's category.
          await waitFor(
            () => realtimeCounts(pool),
            (c) => c.products === PRODUCT_COUNT && c.catalogEvents === PRODUCT_COUNT + 2,
          );
          await withProducer(config, async (producer) => {
            await sendAll(producer, topics.transactions, messagesOf(txs, 'user_id'));
            await sendAll(producer, topics.productViews, messagesOf(views, 'user_id'));
            // The same events twice (a producer retry, a replay upstream): saved once.
            await sendAll(producer, topics.productViews, messagesOf(views.slice(0, 50), 'user_id'));
            await sendAll(producer, topics.cartEvents, messagesOf(carts, 'user_id'));
            await producer.send(
              topics.transactions,
              bad.map((b) => ({ key: 'bad', value: b.value ?? '' })),
            );
          });
          const counts = await waitFor(
            () => realtimeCounts(pool),
            (c) => c.transactions >= 300 && c.views >= 500 && c.carts >= 200 && c.deadLetters >= bad.length,
          );
          // The 50 repeated views add no row: wait for their offsets too, not only for the row counts.
          await waitFor(
            () =>
              pool.query<{ n: number }>('select coalesce(sum(next_offset), 0)::int as n from consumer_offsets where group_id = $1', [
                'it-main',
              ]),
            (r) => r.rows[0]?.n === 300 + bad.length + 550 + 200 + PRODUCT_COUNT + 2,
          );
          const lines = txs.reduce((n, t) => n + t.products.length, 0);
          assert.deepEqual(counts, {
            transactions: 300,
            items: lines,
            views: 500,
            carts: 200,
            catalogEvents: PRODUCT_COUNT + 2,
            products: PRODUCT_COUNT,
            deadLetters: bad.length,
          });

          const product = await pool.query('select name, updated_at from products where product_id in ($1, $2) order by product_id', [
            newer.product_id,
            older.product_id,
          ]);
          assert.equal(product.rows[0].name, 'Renamed', 'a newer record replaces the current one');
          assert.notEqual(product.rows[1].name, 'Stale', 'an older record arriving late does not');

          const reasons = await pool.query<{ reason: string; payload: string | null; source_topic: string }>(
            'select reason, payload, source_topic from dead_letters order by source_offset',
          );
          for (const [i, b] of bad.entries()) {
            assert.match(reasons.rows[i]?.reason ?? '', b.reason);
            assert.equal(reasons.rows[i]?.source_topic, topics.transactions);
          }

          const revenue = txs.reduce((sum, t) => sum + Math.round(t.total_amount * 100), 0) / 100;
          const units = txs.reduce((n, t) => n + t.products.reduce((u, l) => u + l.quantity, 0), 0);
          const adds = carts.filter((c) => c.event_type === 'add').length;
          const expected = {
            revenue: revenue.toFixed(2),
            units: String(units),
            views: '500',
            adds: String(adds),
            removes: String(200 - adds),
            unknown: '0',
          };
          assert.deepEqual(await metricTotals(pool), expected);

          const offsets = await pool.query<{ topic: string; n: number }>(
            'select topic, sum(next_offset)::int as n from consumer_offsets where group_id = $1 group by topic order by topic',
            ['it-main'],
          );
          const byTopic = Object.fromEntries(offsets.rows.map((r) => [r.topic, r.n]));
          assert.equal(byTopic[topics.transactions], 300 + bad.length);
          assert.equal(byTopic[topics.productViews], 550);

          const health = await fetch(`http://127.0.0.1:${savers.metricsPort}/health`);
          assert.equal(health.status, 200);
          // The counters move just after the commit that the offsets above show: poll them.
          const metrics = await waitFor(
            async () => (await fetch(`http://127.0.0.1:${savers.metricsPort}/metrics`)).text(),
            (text) => /lambdamart_speed_events_total\{topic="[^"]+",outcome="duplicate"[^}]*\} 50/.test(text),
            10_000,
          );
          assert.match(metrics, /lambdamart_speed_events_total\{topic="[^"]+",outcome="duplicate"[^}]*\} 50/);
          assert.match(metrics, /lambdamart_speed_dead_letters_total\{topic="[^"]+"[^}]*\} 7/);
          assert.match(metrics, /lambdamart_speed_consumer_lag\{/);
        } finally {
          await savers.stop();
        }

        // The dead letters are on the Kafka topic too, with the reason and the source in headers.
        const dlq = await readTopic(topics.deadLetters, bad.length);
        assert.equal(dlq.length, bad.length);
        for (const headers of dlq) {
          assert.equal(headers[DeadLetterHeaders.sourceTopic], topics.transactions);
          assert.ok(headers[DeadLetterHeaders.reason]);
          assert.match(headers[DeadLetterHeaders.sourceOffset] ?? '', /^\d+$/);
        }

        // A replay: another group reads every topic from offset 0 into the same tables.
        const before = { counts: await realtimeCounts(pool), metrics: await metricTotals(pool) };
        const replay = await startSavers(rtConfig, { group: 'it-replay', topics, metricsPort: 0 });
        try {
          await waitFor(
            () =>
              pool.query<{ n: number }>('select coalesce(sum(next_offset), 0)::int as n from consumer_offsets where group_id = $1', [
                'it-replay',
              ]),
            (r) => r.rows[0]?.n === 300 + bad.length + 550 + 200 + PRODUCT_COUNT + 2,
          );
        } finally {
          await replay.stop();
        }
        assert.deepEqual(await realtimeCounts(pool), before.counts, 'a replay adds no rows');
        assert.deepEqual(await metricTotals(pool), before.metrics, 'nor counts anything twice');
      });
    });
  });

  it('an event Postgres refuses (a speed-view total that would overflow) is dead-lettered with its reason; the rest are saved', async () => {
    await withTempDatabase('refuse', async (url) => {
      await migrateUp('realtime', url);
      const at = new Date('2026-01-01T00:00:30Z');
      const good = Array.from({ length: 50 }, (_, i) => ({ ...transaction(i, at), user_id: 'same-user', country: 'GB' }));
      const huge = {
        ...transaction(99, at),
        user_id: 'same-user',
        country: 'US',
        products: [{ product_id: 'not-in-catalog', quantity: 1, price: 9_999_999_999.99 }],
        total_amount: 9_999_999_999.99,
      };
      await withPool(url, async (pool) => {
        // The speed view's revenue is numeric(14,2): this row cannot take another 10 billion.
        await pool.query(
          `insert into speed_minute_metrics (minute, country, category, revenue) values ('2026-01-01T00:00:00Z', 'US', 'Unknown', 999999999999)`,
        );
        await withProducer(config, (producer) =>
          sendAll(producer, topics.transactions, messagesOf([...good.slice(0, 25), huge, ...good.slice(25)], 'user_id')),
        );
        const savers = await startSavers({ ...config, realtimeDatabaseUrl: url }, { group: 'it-refuse', topics, metricsPort: 0 });
        try {
          const counts = await waitFor(
            () => realtimeCounts(pool),
            (c) => c.transactions + c.deadLetters >= 51 + 300 + 7,
            40_000,
          );
          // This suite's topic also holds the first test's 300 transactions and 7 bad messages.
          assert.equal(counts.transactions, 300 + 50);
          assert.equal(counts.deadLetters, 7 + 1);
          const refused = await pool.query<{ reason: string }>(`select reason from dead_letters where payload like '%9999999999.99%'`);
          assert.match(refused.rows[0]?.reason ?? '', /^refused by PostgreSQL: numeric field overflow/);
        } finally {
          await savers.stop();
        }
      });
    });
  });
});

async function readTopic(topic: string, expected: number): Promise<Record<string, string>[]> {
  const kafka = createKafka({ ...config.kafka, clientId: 'lambdamart-speed-test' });
  const consumer = kafka.consumer({ groupId: `it-dlq-reader-${Date.now()}` });
  const headers: Record<string, string>[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        headers.push(Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])));
      },
    });
    await waitFor(
      async () => headers.length,
      (n) => n >= expected,
      20_000,
    );
  } finally {
    await consumer.disconnect();
  }
  return headers;
}
