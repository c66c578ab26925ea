/**
 * Batches written by a producer that is not ours (kcat, i.e. librdkafka) with every codec Kafka
 * has: the savers decompress each and save every valid event exactly once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '@lambdamart/core';
import { withPool, withTempDatabase } from '@lambdamart/test-helpers';
import { migrateUp } from '@lambdamart/warehouse';
import { startSavers } from './saver.ts';
import {
  badTransactionMessages,
  createSaverTopics,
  deleteSaverTopics,
  productView,
  randomSuffix,
  realtimeCounts,
  waitFor,
} from './testing/index.ts';
import { type KcatCodec, kcatProduce } from './testing/kcat.ts';
import type { SaverTopics } from './topics.ts';

const config = loadConfig({ ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' });
const CODECS: KcatCodec[] = ['gzip', 'snappy', 'lz4', 'zstd'];

describe('savers and compressed batches from another producer', { timeout: 85_000 }, () => {
  let topics: SaverTopics;
  before(async () => {
    topics = await createSaverTopics(config, randomSuffix('speed-codecs'));
  });
  after(async () => {
    await deleteSaverTopics(config, topics);
  });

  it('kcat -z gzip|snappy|lz4|zstd: every valid view saved exactly once, the bad ones dead-lettered', async () => {
    await withTempDatabase('codecs', async (url) => {
      await migrateUp('realtime', url);
      const perCodec = 400;
      const views = CODECS.map((_, c) => Array.from({ length: perCodec }, (_, i) => productView(c * perCodec + i)));
      // One bad message per codec, in the middle of its batch.
      const bad = badTransactionMessages()[0]?.value ?? '{';
      for (const [c, codec] of CODECS.entries()) {
        const lines = (views[c] ?? []).map((v) => JSON.stringify(v));
        lines.splice(perCodec / 2, 0, bad);
        await kcatProduce(config, topics.productViews, lines, { codec });
      }
      await withPool(url, async (pool) => {
        const savers = await startSavers({ ...config, realtimeDatabaseUrl: url }, { group: 'it-codecs', topics, metricsPort: 0 });
        try {
          const expected = CODECS.length * perCodec;
          const counts = await waitFor(
            () => realtimeCounts(pool),
            (c) => c.views + c.deadLetters >= expected + CODECS.length,
            30_000,
          );
          const health = await fetch(`http://127.0.0.1:${savers.metricsPort}/health`);
          assert.equal(counts.views, expected, `every valid view saved (health: ${health.status} ${await health.text()})`);
          assert.equal(counts.deadLetters, CODECS.length);
          // A little longer: a duplicate would show up now.
          await new Promise((r) => setTimeout(r, 500));
          assert.deepEqual(await realtimeCounts(pool), counts);
          const ids = await pool.query<{ n: number }>('select count(distinct event_id)::int as n from product_view_events');
          assert.equal(ids.rows[0]?.n, expected);
          const saved = new Set(
            (await pool.query<{ id: string }>('select event_id::text as id from product_view_events')).rows.map((r) => r.id),
          );
          for (const [c, codec] of CODECS.entries()) {
            assert.ok(
              (views[c] ?? []).every((v) => saved.has(v.event_id)),
              `every view produced with ${codec} is saved`,
            );
          }
        } finally {
          await savers.stop();
        }
      });
    });
  });
});
