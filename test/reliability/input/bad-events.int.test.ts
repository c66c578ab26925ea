/**
 * Every bad event of bad-events.ts, produced with kcat onto this test's own topics between valid
 * events, read by the real savers: each gets the outcome the table (and the README) promises, in
 * the realtime tables or in dead_letters and on the dead-letter topic, and every valid event sent
 * alongside is saved exactly once, the bad ones before it notwithstanding.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createKafka, loadConfig, type Pool, withAdmin } from '@lambdamart/core';
import { startSavers } from '@lambdamart/speed-layer';
import {
  cartEvent,
  catalogRecord,
  deleteSaverTopics,
  productView,
  randomSuffix,
  realtimeCounts,
  transaction,
  waitFor,
} from '@lambdamart/speed-layer/testing';
import { countMessages, withPool, withTempDatabase } from '@lambdamart/test-helpers';
import { migrateUp } from '@lambdamart/warehouse';
import { BAD_EVENTS, type BadEventCase, type SentBadEvent, type SourceTopic } from './bad-events.ts';
import { kcatSend, kcatSendLines } from './kcat.ts';

const config = loadConfig({ ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' });
const VALID_PER_KIND = 150;

type Topics = Record<SourceTopic | 'deadLetters', string>;

/** Where a saved event of each topic lands, and its id column. */
const SAVED_IN: Record<SourceTopic, { table: string; id: string }> = {
  transactions: { table: 'transactions', id: 'transaction_id' },
  productViews: { table: 'product_view_events', id: 'event_id' },
  cartEvents: { table: 'cart_events', id: 'event_id' },
  productCatalog: { table: 'product_catalog_events', id: 'product_id' },
};

/** The saver topics with a suffix; the source topics take messages up to 8 MiB, as a producer may be configured to. */
async function createTopics(suffix: string): Promise<Topics> {
  const topics: Topics = {
    transactions: `transactions-topic${suffix}`,
    productViews: `product-views-topic${suffix}`,
    cartEvents: `cart-events-topic${suffix}`,
    productCatalog: `product-catalog${suffix}`,
    deadLetters: `dead-letters${suffix}`,
  };
  await withAdmin(createKafka({ ...config.kafka, clientId: 'lambdamart-test' }), (admin) =>
    admin.createTopics({
      waitForLeaders: true,
      topics: Object.entries(topics).map(([role, topic]) => ({
        topic,
        numPartitions: 3,
        replicationFactor: 1,
        // The dead-letter topic keeps the broker's default limit: the savers must cut what does not fit.
        configEntries: role === 'deadLetters' ? [] : [{ name: 'max.message.bytes', value: String(8 * 1024 * 1024) }],
      })),
    }),
  );
  return topics;
}

/** What went wrong with one case, or null when it had its documented outcome. */
async function checkCase(pool: Pool, key: string, topic: string, c: BadEventCase, sent: SentBadEvent): Promise<string | null> {
  const dead = await pool.query<{ reason: string; source_topic: string }>(
    'select reason, source_topic from dead_letters where message_key = $1',
    [key],
  );
  const expected = c.expected;
  if (expected.outcome === 'dead-lettered') {
    if (dead.rows.length !== 1) return `expected 1 dead letter, found ${dead.rows.length}`;
    const [row] = dead.rows as [{ reason: string; source_topic: string }];
    if (!row.reason.startsWith(expected.reason)) return `reason "${row.reason.slice(0, 200)}" does not start with "${expected.reason}"`;
    if (row.source_topic !== topic) return `source_topic ${row.source_topic}, expected ${topic}`;
    return null;
  }
  if (dead.rows.length > 0) return `expected saved, but dead-lettered: ${dead.rows[0]?.reason.slice(0, 200)}`;
  const where = SAVED_IN[c.topic];
  const rows = await pool.query<{ n: number }>(`select count(*)::int as n from ${where.table} where ${where.id}::text = $1`, [sent.id]);
  if (rows.rows[0]?.n !== 1) return `expected 1 row in ${where.table}, found ${rows.rows[0]?.n}`;
  if (expected.outcome === 'saved with a flag') {
    const speed = await pool.query<{ category: string }>('select distinct category from speed_minute_metrics where country = $1', [
      sent.country,
    ]);
    const categories = speed.rows.map((r) => r.category);
    if (categories.length !== 1 || categories[0] !== 'Unknown')
      return `speed view categories ${JSON.stringify(categories)}, expected ["Unknown"]`;
  }
  return null;
}

describe('bad events from another producer (kcat) through the real savers', { timeout: 240_000 }, () => {
  let topics: Topics;
  before(async () => {
    topics = await createTopics(randomSuffix('rel-input'));
  });
  after(async () => {
    await deleteSaverTopics(config, topics);
  });

  it('each bad event gets its documented outcome; every valid event beside them is saved once', async () => {
    assert.ok(BAD_EVENTS.length >= 30, 'at least 30 bad events');
    await withTempDatabase('badevents', async (url) => {
      await migrateUp('realtime', url);
      const valid = {
        transactions: Array.from({ length: VALID_PER_KIND }, (_, i) => transaction(i)),
        views: Array.from({ length: VALID_PER_KIND }, (_, i) => productView(i)),
        carts: Array.from({ length: VALID_PER_KIND }, (_, i) => cartEvent(i)),
        catalog: Array.from({ length: 50 }, (_, i) => catalogRecord(i)),
      };
      const sendValid = async (half: 0 | 1) => {
        const part = <T>(items: T[]) => items.slice((half * items.length) / 2, ((half + 1) * items.length) / 2);
        const lines = (items: object[], key: string) =>
          items.map((e) => ({ key: String((e as Record<string, unknown>)[key]), value: JSON.stringify(e) }));
        await kcatSendLines(config, topics.transactions, lines(part(valid.transactions), 'user_id'));
        await kcatSendLines(config, topics.productViews, lines(part(valid.views), 'user_id'));
        await kcatSendLines(config, topics.cartEvents, lines(part(valid.carts), 'user_id'));
        await kcatSendLines(config, topics.productCatalog, lines(part(valid.catalog), 'product_id'));
      };

      // Valid events, then every bad one, then valid events again: the second half proves nothing stalled.
      await sendValid(0);
      const sent = BAD_EVENTS.map((c, i) => ({ c, key: `bad-event-${i + 1}`, sent: c.make() }));
      for (const { c, key, sent: s } of sent) await kcatSend(config, topics[c.topic], key, s.value, s.copies);
      await sendValid(1);

      await withPool(url, async (pool) => {
        const savers = await startSavers(
          { ...config, realtimeDatabaseUrl: url },
          { group: 'rel-input-bad-events', topics, metricsPort: 0 },
        );
        try {
          const deadLettered = BAD_EVENTS.filter((c) => c.expected.outcome === 'dead-lettered').length;
          const savedOf = (topic: SourceTopic) =>
            BAD_EVENTS.filter((c) => c.topic === topic && c.expected.outcome !== 'dead-lettered').length;
          const expected = {
            transactions: VALID_PER_KIND + savedOf('transactions'),
            views: VALID_PER_KIND + savedOf('productViews'),
            carts: VALID_PER_KIND + savedOf('cartEvents'),
            catalogEvents: valid.catalog.length + savedOf('productCatalog'),
            deadLetters: deadLettered,
          };
          const counts = await waitFor(
            () => realtimeCounts(pool),
            (n) =>
              n.transactions >= expected.transactions &&
              n.views >= expected.views &&
              n.carts >= expected.carts &&
              n.catalogEvents >= expected.catalogEvents &&
              n.deadLetters >= expected.deadLetters,
            90_000,
          );
          const health = savers.health();
          // A little longer: a duplicate or a late dead letter would show up now.
          await new Promise((resolve) => setTimeout(resolve, 1000));
          const settled = await realtimeCounts(pool);
          assert.deepEqual(settled, counts, 'nothing more arrives after the savers caught up');

          const wrong: string[] = [];
          for (const { c, key, sent: s } of sent) {
            const problem = await checkCase(pool, key, topics[c.topic], c, s);
            if (problem) wrong.push(`${key} (${c.name}): ${problem}`);
          }
          assert.deepEqual(wrong, [], `bad events with another outcome than documented:\n${wrong.join('\n')}`);

          const { transactions, views, carts, catalogEvents, deadLetters } = settled;
          assert.deepEqual(
            { transactions, views, carts, catalogEvents, deadLetters },
            expected,
            `every valid event saved once, every bad one accounted for (savers' health: ${JSON.stringify(health)})`,
          );
          const ids = async (table: string, column: string) =>
            new Set((await pool.query<{ id: string }>(`select ${column}::text as id from ${table}`)).rows.map((r) => r.id));
          const savedTx = await ids('transactions', 'transaction_id');
          const savedViews = await ids('product_view_events', 'event_id');
          const savedCarts = await ids('cart_events', 'event_id');
          assert.ok(
            valid.transactions.every((t) => savedTx.has(t.transaction_id)),
            'every valid transaction saved',
          );
          assert.ok(
            valid.views.every((v) => savedViews.has(v.event_id)),
            'every valid view saved',
          );
          assert.ok(
            valid.carts.every((e) => savedCarts.has(e.event_id)),
            'every valid cart event saved',
          );

          // The dead-letter topic holds one message per dead letter, the oversize ones cut to fit.
          const onTopic = await waitFor(
            () => countMessages(config, topics.deadLetters),
            (n) => n >= deadLettered,
            10_000,
          );
          assert.equal(onTopic, deadLettered, 'one message on the dead-letter topic per dead letter');
          assert.equal(health.healthy, true, `the savers stay healthy: ${JSON.stringify(health)}`);
        } finally {
          await savers.stop();
        }
      });
    });
  });
});
