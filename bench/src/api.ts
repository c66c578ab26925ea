/**
 * `npm run bench:api`: the serving API (`lambdamart serve`, a child process of its own) under
 * autocannon, against a warehouse built from `--events` raw events (default 5,000,000) by the
 * batch benchmark's data builder and a full batch refresh, plus a speed view: fresh events after
 * the batch watermark, in the last half hour, which the API merges in.
 *
 *   1. cached reads: the read endpoints below, round robin, `--connections` at once for
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
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runJobs } from '@lambdamart/batch-layer';
import { spawnCli } from '@lambdamart/cli-launch';
import { createPool, loadConfigOrExit } from '@lambdamart/core';
import { databaseUrl } from '@lambdamart/test-helpers';
import { migrateUp } from '@lambdamart/warehouse';
import autocannon from 'autocannon';
import { synthesise, synthesiseCatalog, yearOfHistory } from './batch-data.ts';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '5000000' },
    seconds: { type: 'string', default: '15' },
    connections: { type: 'string', default: '20' },
    rebuild: { type: 'boolean', default: false },
    'build-only': { type: 'boolean', default: false },
  },
});
const events = Number(args.events);
const seconds = Number(args.seconds);
const connections = Number(args.connections);
for (const [flag, value] of [
  ['--events', events],
  ['--seconds', seconds],
  ['--connections', connections],
] as const) {
  if (!Number.isInteger(value) || value < 1) {
    process.stderr.write(`bench:api: ${flag} must be a whole number >= 1\n`);
    process.exit(2);
  }
}

const config = loadConfigOrExit({ ...process.env, LOG_LEVEL: 'warn' });
const log = (line: string) => process.stderr.write(`[bench:api] ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A read key: reads need none today, but a keyed client is what the rate limit and logs expect. */
const readKey = 'bench-api-read-key-0001';

/** The speed view: events after the watermark, this many per million of history (at least 1,000). */
const speedEvents = Math.max(1_000, Math.round(events / 100));

/** What the API answers, in its own words: the year of history, the last 24 hours, and the mix of reads. */
const year = { from: '2026-01-01', to: '2026-12-31' };
const endpoints = {
  yearKpis: `/api/v1/kpis?from=${year.from}&to=${year.to}`,
  mergedSales: () => {
    const to = new Date();
    const from = new Date(to.getTime() - 24 * 3600_000);
    return `/api/v1/sales?interval=hour&from=${from.toISOString()}&to=${to.toISOString()}`;
  },
  /** What a dashboard asks again and again: the year's figures, the day's merged series, the analytics tables. */
  cachedReads: () => [
    `/api/v1/kpis?from=${year.from}&to=${year.to}`,
    `/api/v1/sales?interval=day&from=${year.from}&to=${year.to}`,
    endpoints.mergedSales(),
    '/api/v1/products/top',
    '/api/v1/customers/segments',
    '/api/v1/trends',
  ],
};

// ------------------------------------------------------------------ the warehouse, built once

const databases = { rt: `lambdamart_bench_api_rt_${events}`, wh: `lambdamart_bench_api_wh_${events}` };
const rtUrl = databaseUrl(config.realtimeDatabaseUrl, databases.rt);
const whUrl = databaseUrl(config.realtimeDatabaseUrl, databases.wh);
const builtMark = `bench:api warehouse of ${events} events, complete`;

async function timed<T>(run: () => Promise<T>): Promise<[T, number]> {
  const started = process.hrtime.bigint();
  const result = await run();
  return [result, Number(process.hrtime.bigint() - started) / 1e9];
}

/** Builds the two databases unless a finished build is there (marked by a comment on the warehouse database). */
async function ensureWarehouse(): Promise<{ reused: boolean; buildSeconds: number }> {
  const admin = createPool(databaseUrl(config.realtimeDatabaseUrl, 'postgres'), { max: 1, application: 'lambdamart-bench-api' });
  try {
    const { rows } = await admin.query<{ mark: string | null }>(
      `select shobj_description(oid, 'pg_database') as mark from pg_database where datname = $1`,
      [databases.wh],
    );
    const rtExists = (await admin.query('select 1 from pg_database where datname = $1', [databases.rt])).rowCount === 1;
    if (!args.rebuild && rtExists && rows[0]?.mark === builtMark) {
      // Built by an older tree: bring its schema up to this one (the API reads the new columns).
      await migrateUp('realtime', rtUrl);
      await migrateUp('warehouse', whUrl);
      await ensureSalesDaily();
      return { reused: true, buildSeconds: 0 };
    }
    log(`building ${databases.rt} and ${databases.wh} from ${events.toLocaleString('en')} events`);
    for (const name of [databases.rt, databases.wh]) {
      await admin.query(`drop database if exists ${name} with (force)`);
      await admin.query(`create database ${name}`);
    }
    const [, buildSeconds] = await timed(async () => {
      await migrateUp('realtime', rtUrl);
      await migrateUp('warehouse', whUrl);
      const lakeDir = await mkdtemp(join(tmpdir(), 'lambdamart-bench-api-lake-'));
      try {
        const batchConfig = loadConfigOrExit({
          ...process.env,
          REALTIME_DATABASE_URL: rtUrl,
          WAREHOUSE_DATABASE_URL: whUrl,
          LAKE_DIR: lakeDir,
          LOG_LEVEL: 'warn',
        });
        const rt = createPool(rtUrl, { max: 2, application: 'lambdamart-bench-api' });
        try {
          await synthesiseCatalog(rt);
          // The current catalog, as the savers keep it: the speed view names categories from it.
          await rt.query(`
            insert into products (product_id, name, category, price, updated_at, ingested_at)
            select distinct on (product_id) product_id, name, category, price, updated_at, ingested_at
            from product_catalog_events order by product_id, updated_at desc`);
          await synthesise(rt, events, {
            eventTime: yearOfHistory,
            ingested: `now() - interval '2 days' + random() * interval '1 day'`,
            offset: 0,
          });
          await rt.query('vacuum analyze');
        } finally {
          await rt.end();
        }
        log('history synthesised; archive, then a full refresh of every job');
        await runJobs(batchConfig, ['archive'], { triggeredBy: 'bench' });
        await runJobs(batchConfig, 'all', { fullRefresh: true, triggeredBy: 'bench' });
      } finally {
        await rm(lakeDir, { recursive: true, force: true });
      }
    });
    await admin.query(`comment on database ${databases.wh} is '${builtMark}'`);
    log(`warehouse built in ${buildSeconds.toFixed(1)} s`);
    return { reused: false, buildSeconds };
  } finally {
    await admin.end();
  }
}

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

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  await new Promise((r) => server.close(r));
  if (typeof address !== 'object' || !address) throw new Error('no free port');
  return address.port;
}

/** Peak resident memory of a process (VmHWM), in MB. */
function peakRssMb(pid: number): number {
  try {
    return Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

interface RunningApi {
  child: ChildProcess;
  url: string;
  exited: Promise<number | null>;
}

async function startApi(cache: 'on' | 'off'): Promise<RunningApi> {
  const port = await freePort();
  const child = spawnCli(['serve'], {
    env: {
      ...process.env,
      REALTIME_DATABASE_URL: rtUrl,
      WAREHOUSE_DATABASE_URL: whUrl,
      API_PORT: String(port),
      API_CACHE: cache,
      API_KEYS: `${readKey}:read`,
      // The limit guards a shared API against one client; here the one client is the load generator.
      API_RATE_LIMIT: '100000000',
      LOG_LEVEL: 'warn',
    },
    // Its banner goes to stderr: stdout is the table and the JSON line.
    stdio: ['ignore', 2, 'inherit'],
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`lambdamart serve exited with ${child.exitCode} before it answered`);
    const ok = await fetch(`${url}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`lambdamart serve did not answer ${url}/health within 60 s`);
    await sleep(200);
  }
  return { child, url, exited };
}

async function stopApi(api: RunningApi): Promise<number> {
  const rss = peakRssMb(api.child.pid ?? 0);
  api.child.kill('SIGTERM');
  const code = await api.exited;
  if (code !== 0) log(`lambdamart serve exited with ${code} on SIGTERM`);
  return rss;
}

interface Load {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  /** Answers that were not 2xx, and connection errors: any makes the run fail (after the table). */
  failed: number;
}

/**
 * Why answers failed, per load, printed after the table. A failure in a measured load makes the run
 * exit 1; the baseline's are shown only: without a cache, this many clients at once overload the
 * databases by design, and the API sheds that load with 503s.
 */
const failureReports: { what: string; fatal: boolean }[] = [];

/** autocannon against `paths` (round robin per connection); every answer should be a 2xx. */
async function load(url: string, paths: string[], options: { connections: number; seconds: number; baseline?: boolean }): Promise<Load> {
  // One request each first: a broken endpoint stops the bench with its answer, not as a rate of 4xx.
  for (const path of paths) {
    const response = await fetch(`${url}${path}`, { headers: { 'x-api-key': readKey } });
    if (!response.ok) throw new Error(`GET ${path}: ${response.status} ${(await response.text()).slice(0, 300)}`);
  }
  // What went wrong, per path and status, with one answer of each: a failed run must say why.
  const failures = new Map<string, { count: number; body: string }>();
  const result = await autocannon({
    url,
    connections: options.connections,
    duration: options.seconds,
    headers: { 'x-api-key': readKey },
    requests: paths.map((path) => ({
      method: 'GET' as const,
      path,
      onResponse: (status: number, body: string) => {
        if (status < 300) return;
        const key = `${status} ${path}`;
        const seen = failures.get(key) ?? { count: 0, body: body.slice(0, 300) };
        seen.count++;
        failures.set(key, seen);
      },
    })),
    // A slow answer is a measurement, not an error: only one slower than a minute is given up.
    timeout: 60,
  });
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

const { reused, buildSeconds } = await ensureWarehouse();
if (reused) log(`reusing ${databases.rt} and ${databases.wh} (--rebuild builds them again)`);
if (args['build-only']) process.exit(0);
await laySpeedView();
log(`speed view: ${speedEvents.toLocaleString('en')} events of the last 30 minutes, after the batch watermark`);

const readPaths = endpoints.cachedReads();
log(`cached reads, cache on: ${connections} connections for ${seconds} s`);
let api = await startApi('on');
let cached: Load;
let cachedRss: number;
try {
  cached = await load(api.url, readPaths, { connections, seconds });
} finally {
  cachedRss = await stopApi(api);
}

log(`baseline, cache off: ${connections} connections for ${seconds} s; then one client at a time`);
api = await startApi('off');
let baseline: Load;
let yearKpis: Load;
let merged: Load;
let uncachedRss: number;
try {
  baseline = await load(api.url, readPaths, { connections, seconds, baseline: true });
  yearKpis = await load(api.url, [endpoints.yearKpis], { connections: 1, seconds });
  merged = await load(api.url, [endpoints.mergedSales()], { connections: 1, seconds });
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
function figures(l: Load): string[] {
  return [String(Math.round(l.rps)), l.p50.toFixed(1), l.p99.toFixed(1), String(l.failed)];
}
const widths = table[0]?.map((_, c) => Math.max(...table.map((r) => (r[c] ?? '').length))) ?? [];
for (const row of table) process.stdout.write(`${row.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join('  ')}\n`);
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
