/**
 * Postgres unreachable, without stopping the shared server: the saver's database does not exist
 * yet when it starts, or stops accepting connections mid-stream. The saver waits, says so, and
 * catches up with exactly N rows.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { createPool, loadConfig } from '@lambdamart/core';
import { databaseUrl, withPool, withTempDatabase } from '@lambdamart/test-helpers';
import { migrateUp } from '@lambdamart/warehouse';
import { messagesOf, productView, realtimeCounts, sendAll, topicsPerTest, transaction, waitFor, withProducer } from './testing/index.ts';
import { healthOf, spawnSaver } from './testing/process.ts';

const config = loadConfig();
const admin = () => createPool(databaseUrl(config.realtimeDatabaseUrl, 'postgres'), { max: 1, application: 'lambdamart-test' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('savers and an unreachable Postgres', { timeout: 85_000 }, () => {
  const ownTopics = topicsPerTest(config);

  it('a saver started before its database exists waits, then catches up with exactly N', async () => {
    const { suffix, topics } = await ownTopics('speed-late');
    const name = `lambdamart_test_late_${randomBytes(4).toString('hex')}`;
    const url = databaseUrl(config.realtimeDatabaseUrl, name);
    const pool = admin();
    const saver = await spawnSaver({ databaseUrl: url, group: 'late', topicSuffix: suffix });
    try {
      const views = Array.from({ length: 3_000 }, (_, i) => productView(i));
      await withProducer(config, (producer) => sendAll(producer, topics.productViews, messagesOf(views, 'user_id')));
      const waiting = await waitFor(
        () => healthOf(saver),
        (h) => h.body.state === 'waiting-for-postgres' && h.body.postgres !== undefined,
        20_000,
      );
      assert.equal(waiting.status, 503, 'not healthy while waiting');
      const why = waiting.body.postgres as { code: string; error: string };
      assert.equal(why.code, 'LM_ERR_POSTGRES_UNREACHABLE', `says why it waits: ${JSON.stringify(why)}`);
      assert.match(why.error, /does not exist \(3D000\)/);
      await pool.query(`create database ${name}`);
      const unmigrated = await waitFor(
        () => healthOf(saver),
        (h) => (h.body.postgres as { code?: string } | undefined)?.code === 'LM_ERR_SPEED_NOT_MIGRATED',
        15_000,
      );
      assert.equal(unmigrated.body.state, 'waiting-for-postgres', JSON.stringify(unmigrated.body));
      await migrateUp('realtime', url);
      await withPool(url, async (db) => {
        const counts = await waitFor(
          () => realtimeCounts(db),
          (c) => c.views >= 3_000,
          30_000,
        );
        assert.equal(counts.views, 3_000);
      });
      assert.equal((await healthOf(saver)).status, 200);
    } finally {
      saver.child.kill('SIGTERM');
      assert.deepEqual(await saver.exited, { code: 0, signal: null });
      await pool.query(`drop database if exists ${name} with (force)`);
      await pool.end();
    }
  });

  it('Postgres refusing connections mid-stream: partitions pause, then resume with exactly N', async () => {
    const { suffix, topics } = await ownTopics('speed-outage');
    await withTempDatabase('outage', async (url) => {
      await migrateUp('realtime', url);
      const name = new URL(url).pathname.slice(1);
      const pool = admin();
      const saver = await spawnSaver({ databaseUrl: url, group: 'outage', topicSuffix: suffix });
      try {
        const txs = Array.from({ length: 20_000 }, (_, i) => transaction(i));
        await withProducer(config, (producer) => sendAll(producer, topics.transactions, messagesOf(txs, 'user_id'), 5000));
        await withPool(url, async (db) => {
          await waitFor(
            () => realtimeCounts(db),
            (c) => c.transactions >= 1_000,
            30_000,
            20,
          );
        });
        // The outage: no new connections, and the saver's own are cut.
        await pool.query(`alter database ${name} allow_connections false`);
        await pool.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [name]);
        const down = await waitFor(
          () => healthOf(saver),
          (h) => h.body.state === 'postgres-down',
          20_000,
        );
        assert.equal(down.body.state, 'postgres-down');
        assert.equal((down.body.postgres as { code?: string } | undefined)?.code, 'LM_ERR_POSTGRES_UNREACHABLE', JSON.stringify(down.body));
        await sleep(1_000);
        assert.equal(saver.child.exitCode, null, 'still running');
        await pool.query(`alter database ${name} allow_connections true`);
        await withPool(url, async (db) => {
          const counts = await waitFor(
            () => realtimeCounts(db),
            (c) => c.transactions >= 20_000,
            40_000,
          );
          await sleep(300);
          assert.deepEqual(await realtimeCounts(db), counts);
          assert.equal(counts.transactions, 20_000);
          assert.equal(
            counts.items,
            txs.reduce((n, t) => n + t.products.length, 0),
          );
          const metrics = await db.query<{ same: boolean }>(
            `select (select sum(units) from speed_minute_metrics) = (select sum(quantity) from transaction_items) as same`,
          );
          assert.ok(metrics.rows[0]?.same, 'the speed view counted every line once');
        });
        const resumed = await waitFor(
          () => healthOf(saver),
          (h) => h.body.state === 'consuming',
          10_000,
        );
        assert.equal(resumed.status, 200, `partitions resumed: ${JSON.stringify(resumed.body)}`);
        assert.equal(resumed.body.postgres, undefined, 'no longer says Postgres is down');
      } finally {
        await pool.query(`alter database ${name} allow_connections true`).catch(() => undefined);
        saver.child.kill('SIGTERM');
        assert.deepEqual(await saver.exited, { code: 0, signal: null }, JSON.stringify(saver.logs.slice(-4)));
        await pool.end();
      }
    });
  });
});
