import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { type CliResult, runCli as runLambdamart } from '@lambdamart/cli-launch';
import { type BatchRunNotice, BatchRunsChannel, loadConfig } from '@lambdamart/core';
import pg from 'pg';
import {
  addCart,
  addCatalog,
  addManyViews,
  addOrder,
  addView,
  killBatchRun,
  snapshotWarehouse,
  withBatchDatabases,
} from '../testing/fixtures.ts';
import type { JobReport } from './job.ts';
import { JobLockedError, lockKeySql } from './locks.ts';
import { jobs } from './plan.ts';
import { BatchJobsFailedError, runJobs } from './runner.ts';

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
        const statuses: string[] = [];
        await assert.rejects(
          runJobs(config, ['facts', 'analytics'], { triggeredBy: 'test', onJobFinished: (r) => statuses.push(`${r.job} ${r.status}`) }),
        );
        assert.deepEqual(statuses, ['facts failed', 'analytics skipped']);
        await new Promise((r) => setTimeout(r, 200));
        assert.deepEqual(heard, [], 'a rolled-back run, or a skipped one, announces nothing');
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
    await withBatchDatabases('kill', async (dbs) => {
      const { config, rt, wh } = dbs;
      await addCatalog(rt, 'p1', '2025-01-01T00:00:00Z', { price: 2 });
      await addOrder(rt, { user: 'u1', at: '2026-01-01T10:00:00Z', lines: [['p1', 1, 2]] });
      await runJobs(config, 'all', { triggeredBy: 'test' });
      const before = await snapshotWarehouse(wh);
      await addManyViews(rt, 200000, 1);
      await killBatchRun(dbs, ['batch', 'run', 'facts'], {
        what: 'the child started the facts job',
        holds: async () => (await wh.query(`select 1 from job_runs where job_name = 'facts' and status = 'running'`)).rowCount === 1,
        timeoutMs: 15_000,
        settleMs: 1000,
      });
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

  it('a failed archive (unwritable lake) stops no other job; a failed job skips only the jobs that depend on it', async () => {
    await withBatchDatabases('skip', async ({ config, rt, wh, rtUrl, whUrl, lakeDir }) => {
      await addCatalog(rt, 'p1', '2025-01-01T00:00:00Z', { price: 3 });
      await addOrder(rt, { user: 'u1', at: '2026-04-01T10:00:00Z', lines: [['p1', 1, 3]] });
      await addView(rt, 'u1', 'p1', '2026-04-01T09:00:00Z');
      // LAKE_DIR under a regular file: no directory can be made there, even by root (whom a
      // chmod would not stop).
      const file = join(lakeDir, 'a-file');
      await writeFile(file, 'not a directory');
      const brokenLake = join(file, 'lake');
      const unwritable = loadConfig({
        REALTIME_DATABASE_URL: rtUrl,
        WAREHOUSE_DATABASE_URL: whUrl,
        LAKE_DIR: brokenLake,
        LOG_LEVEL: 'silent',
      });
      // Nothing depends on archive. (The analytics on DuckDB keep their replica in LAKE_DIR too:
      // on PostgreSQL they need no lake.)
      assert.deepEqual(jobs.find((j) => j.name === 'archive')?.dependsOn, []);
      assert.ok(jobs.every((j) => !j.dependsOn.includes('archive')));
      const reports: JobReport[] = [];
      // (quality is left out: its expectedIdsPerMonth can fail on a plan that parses every
      // pg_class name as a month, whatever the runs; reported to its owner.)
      await assert.rejects(
        runJobs(unwritable, ['archive', 'dimensions', 'facts', 'analytics'], {
          engine: 'postgres',
          triggeredBy: 'test',
          onJobFinished: (r) => reports.push(r),
        }),
        /ENOTDIR|not a directory/,
      );
      assert.deepEqual(
        reports.map((r) => [r.job, r.status]),
        [
          ['archive', 'failed'],
          ['dimensions', 'succeeded'],
          ['facts', 'succeeded'],
          ['analytics', 'succeeded'],
        ],
      );
      assert.equal((await wh.query('select count(*)::int as n from fact_sales')).rows[0]?.n, 1, 'the facts were loaded');

      // A failed dimensions run: facts, and the jobs that depend on facts, are skipped, and
      // job_runs says why; archive (independent) runs. The CLI prints each and exits 1.
      await wh.query('alter table customer_orders rename to customer_orders_gone');
      await addOrder(rt, { user: 'u2', at: '2026-04-02T10:00:00Z', lines: [['p1', 1, 3]] });
      const before = (await wh.query<{ n: number }>('select max(run_id)::int as n from job_runs')).rows[0]?.n ?? 0;
      const cliRun = await runCli(['batch', 'run', '--engine', 'postgres'], { rtUrl, whUrl, lakeDir: brokenLake });
      assert.equal(cliRun.code, 1);
      assert.match(cliRun.stdout, /^archive +failed after [\d.]+s: .*(ENOTDIR|not a directory)/m);
      assert.match(cliRun.stdout, /^dimensions +failed after [\d.]+s: .*customer_orders/m);
      assert.match(cliRun.stdout, /^facts +skipped: it depends on dimensions, which failed$/m);
      assert.match(cliRun.stdout, /^analytics +skipped: it depends on facts, which was skipped because dimensions failed$/m);
      assert.match(cliRun.stdout, /^quality +skipped: it depends on facts, which was skipped because dimensions failed$/m);
      assert.match(cliRun.stderr, /lambdamart: 2 batch jobs failed: archive: .*; dimensions: .*customer_orders/);
      const { rows } = await wh.query(
        `select job_name, status, error, finished_at is not null as finished from job_runs where run_id > $1 order by run_id`,
        [before],
      );
      assert.deepEqual(
        rows.map((r) => [r.job_name, r.status, r.finished]),
        [
          ['archive', 'failed', true],
          ['dimensions', 'failed', true],
          ['facts', 'skipped', true],
          ['analytics', 'skipped', true],
          ['quality', 'skipped', true],
        ],
      );
      assert.equal(rows[2]?.error, 'skipped: it depends on dimensions, which failed');

      // With the lake writable again, archive succeeds and dimensions alone fails.
      const reports2: JobReport[] = [];
      await assert.rejects(
        runJobs(config, ['archive', 'dimensions', 'facts'], { triggeredBy: 'test', onJobFinished: (r) => reports2.push(r) }),
        (error: unknown) => !(error instanceof BatchJobsFailedError) && /customer_orders/.test(String(error)),
      );
      assert.deepEqual(
        reports2.map((r) => [r.job, r.status]),
        [
          ['archive', 'succeeded'],
          ['dimensions', 'failed'],
          ['facts', 'skipped'],
        ],
      );
      const recorded = await wh.query('select run_id, status from job_runs order by run_id desc limit 3');
      assert.deepEqual(
        reports2.map((r) => [r.runId, r.status]),
        recorded.rows.reverse().map((r) => [Number(r.run_id), r.status]),
        'each report names its job_runs row',
      );
    });
  });

  it("'succeeded' is written in the job's transaction: it commits with the work", async () => {
    await withBatchDatabases('atomic', async ({ config, rt, wh }) => {
      // At commit, in the job's transaction (a deferred trigger on the watermark it writes),
      // record the status of the run: after the commit nothing else may be left to write.
      await wh.query(`
        create table status_at_commit (job_name text, status text);
        create function status_at_commit() returns trigger language plpgsql as $$
        begin
          insert into status_at_commit
          select job_name, status from job_runs where job_name = new.job_name order by run_id desc limit 1;
          return null;
        end $$;
        create constraint trigger status_at_commit after insert or update on etl_watermarks
          deferrable initially deferred for each row execute function status_at_commit();`);
      await addCatalog(rt, 'p1', '2025-01-01T00:00:00Z', { price: 3 });
      await addOrder(rt, { user: 'u1', at: '2026-04-01T10:00:00Z', lines: [['p1', 1, 3]] });
      const reports = await runJobs(config, ['dimensions', 'facts'], { triggeredBy: 'test' });
      const { rows } = await wh.query('select job_name, status from status_at_commit order by job_name');
      assert.deepEqual(rows, [
        { job_name: 'dimensions', status: 'succeeded' },
        { job_name: 'facts', status: 'succeeded' },
      ]);
      const runs = await wh.query(`select run_id, status, rows_out, finished_at >= started_at as ordered from job_runs order by run_id`);
      assert.deepEqual(
        runs.rows.map((r) => [Number(r.run_id), r.status, Number(r.rows_out), r.ordered]),
        reports.map((r) => [r.runId, 'succeeded', r.rowsOut, true]),
      );
    });
  });

  it('dimensions and facts from two triggers at once do not interleave: the warehouse of a sequential run; a trigger that does not wait is refused', async () => {
    await withBatchDatabases('interleave', async ({ config, rt, wh }) => {
      await addCatalog(rt, 'p1', '2025-01-01T00:00:00Z', { price: 50 });
      await addOrder(rt, { user: 'u1', at: '2026-01-10T10:00:00Z', lines: [['p1', 3, 50]] });
      await addOrder(rt, { user: 'u1', at: '2026-03-10T10:00:00Z', lines: [['p1', 2, 50]] });
      await addView(rt, 'u1', 'p1', '2026-02-20T10:00:00Z');
      await runJobs(config, ['dimensions', 'facts'], { triggeredBy: 'test' });
      // A late order that splits u1's versions: its sale must join the new one. The facts job is
      // slowed down after loading the sales, so the other trigger's dimensions run falls inside it.
      await addOrder(rt, { user: 'u1', at: '2026-02-01T10:00:00Z', lines: [['p1', 1, 50]] });
      await wh.query(`
        create function slow_down() returns trigger language plpgsql as $$ begin perform pg_sleep(2); return null; end $$;
        create trigger slow_down after insert on fact_sales for each statement execute function slow_down();`);
      // The full refresh keeps the surrogate keys of unchanged versions: any other difference shows.
      const assertSameAsFullRefresh = async (what: string) => {
        await wh.query('alter table fact_sales disable trigger slow_down');
        const after = await snapshotWarehouse(wh);
        await runJobs(config, ['dimensions', 'facts'], { fullRefresh: true, triggeredBy: 'test' });
        assert.deepEqual(after, await snapshotWarehouse(wh), `${what}: the warehouse of a full refresh, and so of a sequential run`);
        await wh.query('alter table fact_sales enable trigger slow_down');
      };
      const factsRunning = async () => {
        for (let i = 0; i < 200; i++) {
          if ((await wh.query(`select 1 from job_runs where job_name = 'facts' and status = 'running'`)).rowCount) return;
          await new Promise((r) => setTimeout(r, 25));
        }
        assert.fail('the facts job did not start');
      };
      const facts = runJobs(config, ['facts'], { wait: true, triggeredBy: 'test' });
      await factsRunning();
      await new Promise((r) => setTimeout(r, 300));
      const dimensions = runJobs(config, ['dimensions'], { wait: true, triggeredBy: 'test' });
      await Promise.all([facts, dimensions]);
      await assertSameAsFullRefresh('dimensions and facts started together');

      // A second round: while facts runs, a trigger of dimensions that does not wait is refused.
      await addOrder(rt, { user: 'u1', at: '2026-02-02T10:00:00Z', lines: [['p1', 1, 50]] });
      const again = runJobs(config, ['facts'], { wait: true, triggeredBy: 'test' });
      await factsRunning();
      await assert.rejects(runJobs(config, ['dimensions'], { triggeredBy: 'test' }), (error: unknown) => {
        assert.ok(error instanceof JobLockedError);
        assert.equal(
          error.message,
          'batch job dimensions cannot start: another trigger is running facts, which uses the dimension tables dimensions writes; try again later or pass --wait',
        );
        return true;
      });
      await again;
      await runJobs(config, ['dimensions'], { triggeredBy: 'test' });
      await assertSameAsFullRefresh('after the refused trigger');
      const sales = await wh.query(
        `select f.transaction_timestamp, c.effective_from, c.effective_to from fact_sales f join dim_customers c using (customer_id)
         where not (f.transaction_timestamp >= c.effective_from and f.transaction_timestamp < coalesce(c.effective_to, 'infinity'))`,
      );
      assert.deepEqual(sales.rows, [], 'every sale joins the version valid at its time');
    });
  });
});

/** Runs the CLI against the given databases and lake; resolves with its exit code and output. */
function runCli(args: string[], env: { rtUrl: string; whUrl: string; lakeDir: string }): Promise<CliResult> {
  return runLambdamart(args, {
    env: {
      ...process.env,
      REALTIME_DATABASE_URL: env.rtUrl,
      WAREHOUSE_DATABASE_URL: env.whUrl,
      LAKE_DIR: env.lakeDir,
      LOG_LEVEL: 'silent',
    },
  });
}
