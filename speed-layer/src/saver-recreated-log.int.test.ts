/**
 * Kafka's data wiped (or the topics recreated) while the realtime database is kept: a fresh clone
 * of the repository on a machine whose PostgreSQL already holds consumer_offsets does exactly that.
 * The stored offsets then lie past the end of the new logs; before, the savers skipped every new
 * message as "already saved" and saved nothing while /health said healthy.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '@lambdamart/core';
import { withPool, withTempDatabase } from '@lambdamart/test-helpers';
import { migrateUp } from '@lambdamart/warehouse';
import pino from 'pino';
import { startSavers } from './saver.ts';
import {
  cartEvent,
  createSaverTopics,
  deleteSaverTopics,
  messagesOf,
  productView,
  randomSuffix,
  sendAll,
  waitFor,
  withProducer,
} from './testing/index.ts';
import type { SaverTopics } from './topics.ts';

const config = loadConfig({ ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'error' });

describe('savers after Kafka lost its data but the database kept its offsets', { timeout: 90_000 }, () => {
  let topics: SaverTopics;
  before(async () => {
    topics = await createSaverTopics(config, randomSuffix('recreated'));
  });
  after(async () => {
    await deleteSaverTopics(config, topics);
  });

  it('read the new logs from their start: every event saved once, the stored offsets follow the new logs', async () => {
    await withTempDatabase('recreated', async (url) => {
      await migrateUp('realtime', url);
      await withPool(url, async (pool) => {
        const group = 'it-recreated';
        // The offsets an earlier Kafka left: far past anything the new topics hold, and for the
        // cart events a small one (5) that the new log grows past once the savers run.
        await pool.query(
          `insert into consumer_offsets (group_id, topic, partition, next_offset)
           select $1, t, p, case when t = $3 then 5 else 100000 end from unnest($2::text[]) t, generate_series(0, 2) p`,
          [group, [topics.transactions, topics.productViews, topics.cartEvents, topics.productCatalog], topics.cartEvents],
        );
        const views = Array.from({ length: 300 }, (_, i) => productView(i));
        await withProducer(config, (producer) => sendAll(producer, topics.productViews, messagesOf(views, 'user_id')));
        const logged: { level: number; msg: string; partition?: number }[] = [];
        const logger = pino({ level: 'warn' }, { write: (line: string) => logged.push(JSON.parse(line)) });
        const savers = await startSavers({ ...config, realtimeDatabaseUrl: url }, { group, topics, metricsPort: 0, logger });
        try {
          const saved = await waitFor(
            async () => (await pool.query<{ n: number }>('select count(*)::int as n from product_view_events')).rows[0]?.n ?? 0,
            (n) => n >= 300,
            45_000,
          );
          assert.equal(saved, 300);
          const stored = await pool.query<{ n: string }>(
            'select sum(next_offset)::text as n from consumer_offsets where group_id = $1 and topic = $2',
            [group, topics.productViews],
          );
          assert.equal(stored.rows[0]?.n, '300', 'the stored offsets follow the new log');
          assert.equal((await fetch(`http://127.0.0.1:${savers.metricsPort}/health`)).status, 200);
          // The cart events' log was empty when the savers took its partitions; now it grows past
          // the old offset 5. Its first five messages of each partition are new, not saved ones.
          const carts = Array.from({ length: 60 }, (_, i) => cartEvent(i));
          await withProducer(config, (producer) => sendAll(producer, topics.cartEvents, messagesOf(carts, 'user_id')));
          const savedCarts = await waitFor(
            async () => (await pool.query<{ n: number }>('select count(*)::int as n from cart_events')).rows[0]?.n ?? 0,
            (n) => n >= 60,
            20_000,
          );
          assert.equal(savedCarts, 60, 'every cart event of the new log saved');
          // Said once a partition, as a warning; no seek to the old offset, so no out-of-range error from kafkajs.
          const pastTheEnd = logged.filter((l) => /past the end of the partition/.test(l.msg));
          assert.ok(pastTheEnd.length >= 3 && pastTheEnd.every((l) => l.level === 40), JSON.stringify(logged));
          assert.deepEqual(
            logged.filter((l) => l.level >= 50),
            [],
            'no error logged',
          );
        } finally {
          await savers.stop();
        }
      });
    });
  });
});
