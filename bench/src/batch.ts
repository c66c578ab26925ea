/**
 * bench:batch: synthesises a year of raw history straight into a temporary realtime database
 * (SQL generate_series: Zipf-ish users, a catalog with price and category changes, orders of 1-4
 * lines, views and cart events), then times
 *   1. the archive of that history to the Parquet lake (what the scheduler does every few minutes),
 *   2. a full refresh to a complete warehouse: `batch run --full-refresh`, every job, the facts
 *      and dimensions rebuilt from the lake,
 *   3. an incremental run after 100,000 new events (BENCH_BATCH_NEW_EVENTS): the next day's
 *      events, 2% of them up to a week late,
 *   4. the analytics alone in DuckDB against the same SQL in plain PostgreSQL (the baseline).
 * BENCH_BATCH_EVENTS sets the size (default 5,000,000). The JSON line's value is the DuckDB
 * analytics time in seconds, baseline the PostgreSQL one, ratio baseline / value.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type JobReport, runJobs } from '@lambdamart/batch-layer';
import { loadConfig } from '@lambdamart/core';
import { withPool, withTempDatabase } from '@lambdamart/test-helpers';
import { migrateUp } from '@lambdamart/warehouse';
import { nextDayWithLateEvents, synthesise, synthesiseCatalog, yearOfHistory } from './batch-data.ts';

const events = Number(process.env.BENCH_BATCH_EVENTS ?? 5_000_000);
const newEvents = Number(process.env.BENCH_BATCH_NEW_EVENTS ?? 100_000);
/** Per-job durations on stderr, so the table stays the last thing on stdout. */
const jobLine = (r: JobReport) =>
  process.stderr.write(`  ${r.job.padEnd(10)} ${(r.durationMs / 1000).toFixed(1)} s, rows in ${r.rowsIn}, out ${r.rowsOut}\n`);

async function timed<T>(run: () => Promise<T>): Promise<[T, number]> {
  const started = process.hrtime.bigint();
  const result = await run();
  return [result, Number(process.hrtime.bigint() - started) / 1e9];
}

const lakeDir = await mkdtemp(join(tmpdir(), 'lambdamart-bench-lake-'));
try {
  await withTempDatabase('bench_rt', (rtUrl) =>
    withTempDatabase('bench_wh', async (whUrl) => {
      await migrateUp('realtime', rtUrl);
      await migrateUp('warehouse', whUrl);
      const config = loadConfig({
        ...process.env,
        REALTIME_DATABASE_URL: rtUrl,
        WAREHOUSE_DATABASE_URL: whUrl,
        LAKE_DIR: lakeDir,
        LOG_LEVEL: 'warn',
      });
      await withPool(rtUrl, async (rt) => {
        process.stderr.write(`synthesising ${events.toLocaleString('en')} events...\n`);
        const [, synthS] = await timed(async () => {
          await synthesiseCatalog(rt);
          await synthesise(rt, events, {
            eventTime: yearOfHistory,
            ingested: `now() - interval '2 days' + random() * interval '1 day'`,
            offset: 0,
          });
          await rt.query('vacuum analyze');
        });
        process.stderr.write(`synthesised in ${synthS.toFixed(1)} s; archive...\n`);
        const asOf = '2026-12-31';
        const [, archiveS] = await timed(() => runJobs(config, ['archive'], { triggeredBy: 'bench', onJobFinished: jobLine }));
        process.stderr.write('full refresh...\n');
        const [, fullS] = await timed(() => runJobs(config, 'all', { fullRefresh: true, triggeredBy: 'bench', onJobFinished: jobLine }));
        await synthesise(rt, newEvents, { eventTime: nextDayWithLateEvents, ingested: 'now()', offset: events + 1 });
        await rt.query('analyze');
        process.stderr.write('incremental...\n');
        const [, incrementalS] = await timed(() => runJobs(config, 'all', { triggeredBy: 'bench', onJobFinished: jobLine }));
        process.stderr.write('analytics, PostgreSQL then DuckDB...\n');
        const [, pgS] = await timed(() => runJobs(config, ['analytics'], { to: asOf, engine: 'postgres', triggeredBy: 'bench' }));
        const [, duckS] = await timed(() => runJobs(config, ['analytics'], { to: asOf, engine: 'duckdb', triggeredBy: 'bench' }));
        const rssMb = Math.round(process.resourceUsage().maxRSS / 1024);
        const ratio = pgS / duckS;
        const rows: [string, string, string][] = [
          ['raw events synthesised', events.toLocaleString('en'), `${synthS.toFixed(1)} s`],
          ['archive of the history to the lake', '', `${archiveS.toFixed(1)} s`],
          ['full refresh from the lake (all jobs)', '<= 90 s', `${fullS.toFixed(1)} s`],
          [`incremental (+${newEvents.toLocaleString('en')} events)`, '<= 10 s', `${incrementalS.toFixed(1)} s`],
          ['analytics, plain PostgreSQL (baseline)', '', `${pgS.toFixed(1)} s`],
          ['analytics, DuckDB', '', `${duckS.toFixed(1)} s`],
          ['DuckDB vs PostgreSQL', '>= 3x', `${ratio.toFixed(2)}x`],
          ['peak RSS of this process', '<= 4096 MB', `${rssMb} MB`],
        ];
        for (const [what, target, value] of rows) process.stdout.write(`${what.padEnd(42)} ${target.padEnd(12)} ${value}\n`);
        process.stdout.write(
          `${JSON.stringify({
            bench: 'batch',
            value: Number(duckS.toFixed(3)),
            unit: 's (analytics in DuckDB)',
            baseline: Number(pgS.toFixed(3)),
            ratio: Number(ratio.toFixed(2)),
            rss_mb: rssMb,
            events,
            archive_s: Number(archiveS.toFixed(2)),
            full_refresh_s: Number(fullS.toFixed(2)),
            incremental_s: Number(incrementalS.toFixed(2)),
            duckdb_vs_pg_ratio: Number(ratio.toFixed(2)),
          })}\n`,
        );
      });
    }),
  );
} finally {
  await rm(lakeDir, { recursive: true, force: true });
}
