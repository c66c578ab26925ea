/**
 * `npm run bench:api`: the serving API (`lambdamart serve`, a child process of its own) under
 * autocannon, against a warehouse built from `--events` raw events (default 5,000,000) by the
 * batch benchmark's data builder and a full batch refresh, plus a speed view: fresh events after
 * the batch watermark, in the last half hour, which the API merges in.
 *
 *   1. cached reads: the dashboard's reads (api-fixture.ts), round robin, `--connections` at once for
 *      `--seconds`, with the response cache on (after one warm-up request each);
 *   2. baseline: the same load on an API started with API_CACHE=off;
 *   3. on that uncached API, one client at a time: `/kpis` over the whole year, and a merged
 *      `/sales?interval=hour` over the last 24 hours (batch view + speed view).
 *
 * The warehouse is built once into lambdamart_bench_api_{rt,wh}_<events> and reused by later runs
 * (`--rebuild` builds it again, `--build-only` stops once it is there); the speed view is laid
 * anew on each run, so that "the last 24 hours" holds. Ends with one JSON line (DESIGN.md, "Benchmarks"). Run it as
 * `flock /tmp/lambdamart-bench.lock npm run bench:api [-- --events 100000]`.
 */
import { parseArgs } from 'node:util';
import { runJobs } from '@lambdamart/batch-layer';
import { createPool, loadConfigOrExit } from '@lambdamart/core';
import {
  benchWarehouse,
  checkReads,
  dashboardReads,
  ensureWarehouse,
  figures,
  type Load as LoadFigures,
  mergedSalesPath,
  peakRssMb,
  printTable,
  type RunningApi,
  readLoad,
  startApi,
  timed,
  wholeNumbers,
  yearKpisPath,
} from './api-fixture.ts';
import { synthesise } from './batch-data.ts';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '5000000' },
    seconds: { type: 'string', default: '15' },
    connections: { type: 'string', default: '20' },
    rebuild: { type: 'boolean', default: false },
    'build-only': { type: 'boolean', default: false },
  },
});
const { events, seconds, connections } = wholeNumbers('bench:api', {
  events: args.events,
  seconds: args.seconds,
  connections: args.connections,
});

const config = loadConfigOrExit({ ...process.env, LOG_LEVEL: 'warn' });
const log = (line: string) => process.stderr.write(`[bench:api] ${line}\n`);
/** A read key: reads need none today, but a keyed client is what the rate limit and logs expect. */
const readKey = 'bench-api-read-key-0001';

/** The speed view: events after the watermark, this many per million of history (at least 1,000). */
const speedEvents = Math.max(1_000, Math.round(events / 100));

// ------------------------------------------------------------------ the warehouse, built once

const warehouse = benchWarehouse(config, 'api', events);
const { databases, rtUrl, whUrl } = warehouse;

/**
 * A warehouse built before the daily sales aggregate (migration 0012) has it empty: the next facts
 * run builds it whole, as it would in production. The previous speed view goes first, so that
 * run loads nothing new and the history stays the same.
 */
async function ensureSalesDaily(): Promise<void> {
  const wh = createPool(whUrl, { max: 1, application: 'lambdamart-bench-api' });
  try {
    const { rowCount } = await wh.query(
      `select 1 from sales_daily_state s join etl_watermarks w on w.job_name = 'facts' and w.watermark = s.facts_watermark`,
    );
    if (rowCount === 1) return;
    await dropSpeedView(wh);
  } finally {
    await wh.end();
  }
  log('building the daily sales aggregate with a facts run');
  const batchConfig = loadConfigOrExit({ ...process.env, REALTIME_DATABASE_URL: rtUrl, WAREHOUSE_DATABASE_URL: whUrl, LOG_LEVEL: 'warn' });
  const [, seconds] = await timed(() => runJobs(batchConfig, ['facts'], { triggeredBy: 'bench' }));
  log(`daily sales aggregate built in ${seconds.toFixed(1)} s`);
}

/** Deletes the raw rows ingested after the facts watermark (the previous run's speed view). */
async function dropSpeedView(wh: ReturnType<typeof createPool>): Promise<Date> {
  const { rows } = await wh.query<{ watermark: Date | null }>(`select watermark from etl_watermarks where job_name = 'facts'`);
  const watermark = rows[0]?.watermark;
  if (!watermark) throw new Error(`${databases.wh} has no facts watermark: run again with --rebuild`);
  const rt = createPool(rtUrl, { max: 1, application: 'lambdamart-bench-api' });
  try {
    for (const table of ['transactions', 'product_view_events', 'cart_events']) {
      await rt.query(`delete from ${table} where ingested_at > $1`, [watermark]);
    }
  } finally {
    await rt.end();
  }
  return watermark;
}

/**
 * The speed view of this run: `speedEvents` events of the last half hour, ingested now (after the
 * facts watermark), in the raw tables and in speed_minute_metrics, as the savers would have saved
 * them. Everything after the watermark is the speed view, so the previous run's goes first.
 */
async function laySpeedView(): Promise<void> {
  const wh = createPool(whUrl, { max: 1, application: 'lambdamart-bench-api' });
  const rt = createPool(rtUrl, { max: 1, application: 'lambdamart-bench-api' });
  try {
    const { rows } = await wh.query<{ watermark: Date | null }>(`select watermark from etl_watermarks where job_name = 'facts'`);
    const watermark = rows[0]?.watermark;
    if (!watermark) throw new Error(`${databases.wh} has no facts watermark: run again with --rebuild`);
    for (const table of ['transactions', 'product_view_events', 'cart_events']) {
      await rt.query(`delete from ${table} where ingested_at > $1`, [watermark]);
    }
    await synthesise(rt, speedEvents, { eventTime: `now() - random() * interval '30 minutes'`, ingested: 'now()', offset: events + 1 });
    await rt.query('truncate speed_minute_metrics');
    await rt.query(
      `
      insert into speed_minute_metrics (minute, country, category, revenue, orders, units, views, cart_adds, cart_removes)
      select minute, country, category, sum(revenue), sum(orders), sum(units), sum(views), sum(cart_adds), sum(cart_removes)
      from (
        select date_trunc('minute', t.transaction_timestamp) as minute, t.country, coalesce(p.category, 'Unknown') as category,
               sum(i.price * i.quantity) as revenue, count(distinct t.transaction_id) as orders, sum(i.quantity) as units,
               0 as views, 0 as cart_adds, 0 as cart_removes
        from transactions t join transaction_items i using (transaction_id) left join products p on p.product_id = i.product_id
        where t.ingested_at > $1 group by 1, 2, 3
        union all
        select date_trunc('minute', v.event_timestamp), v.country, coalesce(p.category, 'Unknown'), 0, 0, 0, count(*), 0, 0
        from product_view_events v left join products p using (product_id) where v.ingested_at > $1 group by 1, 2, 3
        union all
        select date_trunc('minute', c.event_timestamp), c.country, coalesce(p.category, 'Unknown'), 0, 0, 0, 0,
               count(*) filter (where c.event_type = 'add'), count(*) filter (where c.event_type = 'remove')
        from cart_events c left join products p using (product_id) where c.ingested_at > $1 group by 1, 2, 3
      ) s
      group by 1, 2, 3`,
      [watermark],
    );
    await rt.query('analyze');
  } finally {
    await Promise.all([wh.end(), rt.end()]);
  }
}

// ------------------------------------------------------------------ the API, a process of its own

async function stopApi(api: RunningApi): Promise<number> {
  const rss = peakRssMb(api.child.pid);
  api.child.kill('SIGTERM');
  const code = await api.exited;
  if (code !== 0) log(`lambdamart serve exited with ${code} on SIGTERM`);
  return rss;
}

interface Load extends LoadFigures {
  requests: number;
}

/**
 * Why answers failed, per load, printed after the table. A failure in a measured load makes the run
 * exit 1; the baseline's are shown only: without a cache, this many clients at once overload the
 * databases by design, and the API sheds that load with 503s.
 */
const failureReports: { what: string; fatal: boolean }[] = [];

/** autocannon against `paths` (round robin per connection); every answer should be a 2xx. */
async function load(url: string, paths: string[], options: { connections: number; seconds: number; baseline?: boolean }): Promise<Load> {
  await checkReads(url, paths, readKey);
  // What went wrong, per path and status, with one answer of each: a failed run must say why.
  const failures = new Map<string, { count: number; body: string }>();
  const result = await readLoad(url, paths, { connections: options.connections, seconds: options.seconds, readKey, failures });
  const failed = result.non2xx + result.errors;
  if (failed > 0) {
    const detail = [...failures].map(([key, f]) => `  ${key}: ${f.count}x, e.g. ${f.body}`).join('\n');
    failureReports.push({
      what: `${options.baseline ? 'baseline: ' : ''}${result.non2xx} answers were not 2xx, ${result.errors} errors (${result.timeouts} timeouts):\n${detail}`,
      fatal: !options.baseline,
    });
  }
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, requests: result.requests.total, failed };
}

// ------------------------------------------------------------------ the run

const { reused, buildSeconds } = await ensureWarehouse(config, warehouse, { rebuild: args.rebuild, log, onReuse: ensureSalesDaily });
if (reused) log(`reusing ${databases.rt} and ${databases.wh} (--rebuild builds them again)`);
if (args['build-only']) process.exit(0);
await laySpeedView();
log(`speed view: ${speedEvents.toLocaleString('en')} events of the last 30 minutes, after the batch watermark`);

const readPaths = dashboardReads();
log(`cached reads, cache on: ${connections} connections for ${seconds} s`);
let api = await startApi(warehouse, readKey, { API_CACHE: 'on' });
let cached: Load;
let cachedRss: number;
try {
  cached = await load(api.url, readPaths, { connections, seconds });
} finally {
  cachedRss = await stopApi(api);
}

log(`baseline, cache off: ${connections} connections for ${seconds} s; then one client at a time`);
api = await startApi(warehouse, readKey, { API_CACHE: 'off' });
let baseline: Load;
let yearKpis: Load;
let merged: Load;
let uncachedRss: number;
try {
  baseline = await load(api.url, readPaths, { connections, seconds, baseline: true });
  yearKpis = await load(api.url, [yearKpisPath], { connections: 1, seconds });
  merged = await load(api.url, [mergedSalesPath()], { connections: 1, seconds });
} finally {
  uncachedRss = await stopApi(api);
}

const ratio = cached.rps / baseline.rps;
const rssMb = Math.round(Math.max(cachedRss, uncachedRss));
const table: string[][] = [
  ['measure', 'target', 'req/s', 'p50 ms', 'p99 ms', 'not 2xx'],
  [`cached reads (${readPaths.length} endpoints, ${connections} connections)`, '>= 5000 req/s, p99 <= 25 ms', ...figures(cached)],
  ['baseline: the same reads, cache off', '', ...figures(baseline)],
  ['uncached /kpis over a year (1 client)', 'p99 <= 150 ms', ...figures(yearKpis)],
  ['merged /sales?interval=hour, last 24 h (1 client)', 'p99 <= 100 ms', ...figures(merged)],
];
printTable(table);
process.stdout.write(
  [
    `ratio (cached / baseline req/s): ${ratio.toFixed(1)}x`,
    `API peak RSS: ${Math.round(cachedRss)} MB with the cache, ${Math.round(uncachedRss)} MB without (target <= 300 MB)`,
    `warehouse: ${events.toLocaleString('en')} events${reused ? ' (reused)' : `, built in ${buildSeconds.toFixed(1)} s`}; speed view ${speedEvents.toLocaleString('en')} events`,
    '',
  ].join('\n'),
);
process.stdout.write(
  `${JSON.stringify({
    bench: 'api',
    value: Math.round(cached.rps),
    unit: 'req/s (cached reads)',
    baseline: Math.round(baseline.rps),
    ratio: Number(ratio.toFixed(1)),
    rss_mb: rssMb,
    rps: Math.round(cached.rps),
    p99_ms: cached.p99,
    uncached_p99_ms: yearKpis.p99,
    merged_p99_ms: merged.p99,
    baseline_rps: Math.round(baseline.rps),
    baseline_p99_ms: baseline.p99,
    failed_requests: cached.failed + baseline.failed + yearKpis.failed + merged.failed,
    events,
    speed_events: speedEvents,
    connections,
    seconds,
  })}\n`,
);
if (failureReports.length) log(`answers that failed:\n${failureReports.map((f) => f.what).join('\n')}`);
if (failureReports.some((f) => f.fatal)) {
  log('a measured load had failed answers, so this run fails');
  process.exitCode = 1;
}
