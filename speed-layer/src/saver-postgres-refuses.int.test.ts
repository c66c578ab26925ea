/**
 * Postgres refusing a table's rows for a reason that is not about the data (here: INSERT revoked
 * from the saver's role, SQLSTATE 42501): the partitions of that table pause with backoff and
 * /health says why; the other tables go on; once INSERT is granted back everything is saved once.
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
  realtimeCounts,
  sendAll,
  transaction,
  waitFor,
  withProducer,
} from './testing/index.ts';
import type { SaverTopics } from './topics.ts';

const config = loadConfig({ ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function healthOf(port: number): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`http://127.0.0.1:${port}/health`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('savers and a Postgres that refuses a table (permissions)', { timeout: 85_000 }, () => {
  let topics: SaverTopics;
  before(async () => {
    topics = await createSaverTopics(config, randomSuffix('speed-pg-refuses'));
  });
  after(async () => {
    await deleteSaverTopics(config, topics);
  });

  it('INSERT revoked: those partitions pause, /health 503 degraded with the reason; granted back: every event saved exactly once', async () => {
    await withTempDatabase('pgrefuses', async (url) => {
      await migrateUp('realtime', url);
      await withPool(url, async (pool) => {
        await pool.query('revoke insert on product_view_events from current_user');
        const views = Array.from({ length: 300 }, (_, i) => productView(i));
        const txs = Array.from({ length: 60 }, (_, i) => transaction(i));
        await withProducer(config, (producer) => sendAll(producer, topics.productViews, messagesOf(views, 'user_id')));
        const savers = await startSavers({ ...config, realtimeDatabaseUrl: url }, { group: 'it-pg-refuses', topics, metricsPort: 0 });
        try {
          const degraded = await waitFor(
            () => healthOf(savers.metricsPort),
            (h) => Array.isArray(h.body.blocked),
            30_000,
          );
          assert.equal(degraded.status, 503, JSON.stringify(degraded.body));
          assert.equal(degraded.body.state, 'degraded');
          const blocked = degraded.body.blocked as { topic: string; cause: string; reason: string }[];
          assert.ok(blocked.length >= 1);
          for (const entry of blocked) {
            assert.equal(entry.topic, topics.productViews);
            assert.equal(entry.cause, 'postgres');
            assert.match(entry.reason, /permission denied for table product_view_events \(42501\)/);
          }
          const metrics = await (await fetch(`http://127.0.0.1:${savers.metricsPort}/metrics`)).text();
          assert.match(metrics, /lambdamart_speed_blocked_partitions\{cause="postgres"[^}]*\} [1-3]\b/);
          // Another table goes on meanwhile.
          await withProducer(config, (producer) => sendAll(producer, topics.transactions, messagesOf(txs, 'user_id')));
          const meanwhile = await waitFor(
            () => realtimeCounts(pool),
            (c) => c.transactions >= 60,
            20_000,
          );
          assert.equal(meanwhile.transactions, 60);
          assert.equal(meanwhile.views, 0);
          // Paused with backoff, not retried in a tight loop.
          await sleep(3_000);
          const later = await healthOf(savers.metricsPort);
          const attempts = Math.max(...(later.body.blocked as { attempts: number }[]).map((b) => b.attempts));
          assert.ok(attempts <= 6, `backoff between tries (${attempts} tries of one partition)`);

          await pool.query('grant insert on product_view_events to current_user');
          const counts = await waitFor(
            () => realtimeCounts(pool),
            (c) => c.views >= 300,
            40_000,
          );
          await sleep(500);
          assert.deepEqual(await realtimeCounts(pool), counts, 'nothing more: no duplicate');
          assert.equal(counts.views, 300);
          const speedView = await pool.query<{ same: boolean }>(
            'select (select coalesce(sum(views), 0) from speed_minute_metrics) = (select count(*) from product_view_events) as same',
          );
          assert.ok(speedView.rows[0]?.same, 'the speed view counted every view once');
          const back = await waitFor(
            () => healthOf(savers.metricsPort),
            (h) => h.status === 200,
            10_000,
          );
          assert.equal(back.status, 200, JSON.stringify(back.body));
        } finally {
          await savers.stop();
        }
      });
    });
  });
});
