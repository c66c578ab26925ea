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
import { startSavers } from './saver.ts';
import {
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
        // The offsets an earlier Kafka left: far past anything the new topics hold.
        await pool.query(
          `insert into consumer_offsets (group_id, topic, partition, next_offset)
           select $1, t, p, 100000 from unnest($2::text[]) t, generate_series(0, 2) p`,
          [group, [topics.transactions, topics.productViews, topics.cartEvents, topics.productCatalog]],
        );
        const views = Array.from({ length: 300 }, (_, i) => productView(i));
        await withProducer(config, (producer) => sendAll(producer, topics.productViews, messagesOf(views, 'user_id')));
        const savers = await startSavers({ ...config, realtimeDatabaseUrl: url }, { group, topics, metricsPort: 0 });
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
        } finally {
          await savers.stop();
        }
      });
    });
  });
});
