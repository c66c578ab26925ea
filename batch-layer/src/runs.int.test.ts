import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { type BatchRunNotice, BatchRunsChannel } from '@lambdamart/core';
import pg from 'pg';
import { JobLockedError, lockKeySql, runJobs } from './runner.ts';
import { addCart, addCatalog, addOrder, addView, snapshotWarehouse, withBatchDatabases } from './testing/fixtures.ts';

const cli = resolve(import.meta.dirname, '../../cli/src/main.ts');

describe('job runs: idempotent, locked, recorded, checked, crash-safe', () => {
  it('a rerun with no new data changes nothing; every run is recorded', async () => {
    await withBatchDatabases('idem', async ({ config, rt, wh }) => {
      await addCatalog(rt, 'p1', '2025-01-01T00:00:00Z', { price: 7.5 });
      await addOrder(rt, { user: 'u1', at: '2026-04-01T10:00:00Z', lines: [['p1', 2, 7.5]] });
      await addView(rt, 'u1', 'p1', '2026-04-01T09:00:00Z');
      await addCart(rt, 'u1', 'p1', '2026-04-01T09:30:00Z');
      await runJobs(config, 'all', { triggeredBy: 'test' });
      const first = await snapshotWarehouse(wh);
      assert.equal(first.fact_sales?.length, 1);
      const second = await runJobs(config, 'all', { triggeredBy: 'test' });
      assert.deepEqual(await snapshotWarehouse(wh), first, 'the same warehouse');
      assert.deepEqual(
        second.map((r) => [r.job, r.rowsOut]),
        [
          ['archive', 0],
          ['dimensions', 0],
          ['facts', 0],
          ['analytics', 0],
          ['quality', 8],
        ],
      );
      const { rows } = await wh.query('select job_name, status, finished_at is not null as finished from job_runs order by run_id');
      assert.equal(rows.length, 10);
      assert.ok(rows.every((r) => r.status === 'succeeded' && r.finished));
      const checks = await wh.query('select count(*)::int as n, bool_and(passed) as passed from data_quality_results');
      assert.deepEqual(checks.rows[0], { n: 16, passed: true });
    });
  });

  it('a committed run is announced on the NOTIFY channel; a failed one is not', async () => {
    await withBatchDatabases('notify', async ({ config, rt, wh, whUrl }) => {
      const listener = new pg.Client({ connectionString: whUrl });
      await listener.connect();
      const heard: BatchRunNotice[] = [];
      listener.on('notification', (n) => {
        if (n.channel === BatchRunsChannel && n.payload) heard.push(JSON.parse(n.payload));
      });
      try {
        await listener.query(`listen ${BatchRunsChannel}`);
        await addCatalog(rt, 'p1', '2025-01-01T00:00:00Z', { price: 4 });
        await addOrder(rt, { user: 'u1', at: '2026-04-01T10:00:00Z', lines: [['p1', 1, 4]] });
        const reports = await runJobs(config, ['dimensions', 'facts'], { triggeredBy: 'test' });
        await wh.query('select 1'); // a round trip, so the notices have arrived
        for (let i = 0; i < 50 && heard.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
        assert.deepEqual(
          heard.map((n) => [n.job, n.run_id, n.status]),
          reports.map((r) => [r.job, r.runId, 'succeeded']),
        );
        const factsWatermark = await wh.query<{ w: Date }>(`select watermark as w from etl_watermarks where job_name = 'facts'`);
        assert.equal(heard[1]?.watermark, factsWatermark.rows[0]?.w.toISOString());

        heard.length = 0;
        await wh.query('drop table fact_sales cascade'); // the next facts run fails
        await assert.rejects(runJobs(config, ['facts'], { triggeredBy: 'test' }));
        await new Promise((r) => setTimeout(r, 200));
        assert.deepEqual(heard, [], 'a rolled-back run announces nothing');
      } finally {
        await listener.end();
      }
    });
  });

  it('a second trigger of a running job is refused with a clear message', async () => {
    await withBatchDatabases('lock', async ({ config, wh }) => {
      const holder = await wh.connect();
      try {
        await holder.query(`select pg_advisory_lock(${lockKeySql})`, ['facts']);
        await assert.rejects(runJobs(config, ['facts'], { triggeredBy: 'test' }), (error: unknown) => {
          assert.ok(error instanceof JobLockedError);
          assert.match(error.message, /batch job facts is already running/);
          return true;
        });
      } finally {
        holder.release();
      }
    });
  });

  it('a failing data-quality check fails the run, naming the check and the rows', async () => {
    await withBatchDatabases('dq', async ({ config, rt, wh }) => {
      await addCatalog(rt, 'p1', '2025-01-01T00:00:00Z', { price: 3 });
      const id = await addOrder(rt, {
        user: 'u1',
        at: '2026-04-01T10:00:00Z',
        lines: [
          ['p1', 1, 3],
          ['p1', 2, 3],
        ],
      });
      await runJobs(config, ['dimensions', 'facts'], { triggeredBy: 'test' });
      await wh.query(`delete from fact_sales where event_id = $1`, [`${id}:2`]);
      await assert.rejects(runJobs(config, ['quality'], { triggeredBy: 'test' }), /fact_revenue_matches_raw failed: 1 offending row/);
      const { rows } = await wh.query(`select status, error from job_runs where job_name = 'quality'`);
      assert.equal(rows[0]?.status, 'failed');
      assert.match(rows[0]?.error, new RegExp(id));
      const failed = await wh.query(`select check_name from data_quality_results where not passed`);
      assert.deepEqual(failed.rows, [{ check_name: 'fact_revenue_matches_raw' }]);
    });
  });

  it('kill -9 mid-run leaves the previous state; the next run completes the work', async () => {
    await withBatchDatabases('kill', async ({ config, rt, wh, rtUrl, whUrl }) => {
      await addCatalog(rt, 'p1', '2025-01-01T00:00:00Z', { price: 2 });
      await addOrder(rt, { user: 'u1', at: '2026-01-01T10:00:00Z', lines: [['p1', 1, 2]] });
      await runJobs(config, 'all', { triggeredBy: 'test' });
      const before = await snapshotWarehouse(wh);
      // Enough new views that loading them takes a while.
      await rt.query(
        `insert into product_view_events (event_id, user_id, product_id, session_id, view_duration, country, event_timestamp)
         select gen_random_uuid(), 'u' || (n % 5000), 'p1', 's', 5, 'US', timestamptz '2026-02-01' + n * interval '1 second'
         from generate_series(1, 200000) n`,
      );
      const child = spawn(process.execPath, ['--import', 'tsx', cli, 'batch', 'run', 'facts'], {
        env: { ...process.env, REALTIME_DATABASE_URL: rtUrl, WAREHOUSE_DATABASE_URL: whUrl, LAKE_DIR: config.lakeDir, LOG_LEVEL: 'silent' },
        stdio: 'ignore',
      });
      const exited = new Promise<NodeJS.Signals | null>((done) => child.on('exit', (_code, signal) => done(signal)));
      let running = false;
      for (let i = 0; i < 300 && !running; i++) {
        await new Promise((r) => setTimeout(r, 50));
        running = (await wh.query(`select 1 from job_runs where job_name = 'facts' and status = 'running'`)).rowCount === 1;
      }
      assert.ok(running, 'the child started the facts job');
      await new Promise((r) => setTimeout(r, 1000));
      child.kill('SIGKILL');
      assert.equal(await exited, 'SIGKILL');
      // The server notices the dead client and rolls its transaction back.
      for (let i = 0; i < 300; i++) {
        const { rows } = await wh.query(
          `select count(*)::int as n from pg_stat_activity where datname = current_database() and application_name = 'lambdamart-batch'`,
        );
        if (rows[0]?.n === 0) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.deepEqual(await snapshotWarehouse(wh), before, 'the killed run left nothing behind');

      const [report] = await runJobs(config, ['facts'], { triggeredBy: 'test' });
      assert.equal(report?.rowsOut, 200000);
      const { rows } = await wh.query(`select status, error from job_runs where job_name = 'facts' order by run_id`);
      assert.deepEqual(
        rows.map((r) => r.status),
        ['succeeded', 'failed', 'succeeded'],
      );
      assert.match(rows[1]?.error, /abandoned/);
    });
  });
});
