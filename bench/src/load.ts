/**
 * `npm run bench:load`: the API's latency while the speed layer ingests. The API (`lambdamart
 * serve`, a child process) answers the reads of bench:api, round robin under autocannon, on a
 * warehouse built from `--events` raw events (default 200,000) by the batch jobs:
 *
 *   1. baseline: that load alone;
 *   2. the same load while `lambdamart generate --rate <--rate>` (default 20,000 events/s) sends
 *      events to this run's own topics and `lambdamart speed` (the real savers) saves them into the
 *      same realtime database the API reads its speed view from.
 *
 * Prints both, the ingest rate reached (rows the savers saved per second while measured) and the
 * DESIGN.md JSON line. The databases lambdamart_bench_load_{rt,wh}_<events> are built once and
 * reused (`--rebuild` builds them again); the topics are this run's and deleted at the end.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { runJobs } from '@lambdamart/batch-layer';
import { createPool, loadConfigOrExit, type Pool } from '@lambdamart/core';
import { createSaverTopics, deleteSaverTopics } from '@lambdamart/speed-layer/testing';
import { databaseUrl } from '@lambdamart/test-helpers';
import { migrateUp } from '@lambdamart/warehouse';
import autocannon from 'autocannon';
import { synthesise, synthesiseCatalog, yearOfHistory } from './batch-data.ts';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '200000' },
    rate: { type: 'string', default: '20000' },
    seconds: { type: 'string', default: '20' },
    connections: { type: 'string', default: '20' },
    rebuild: { type: 'boolean', default: false },
  },
});
const events = Number(args.events);
const rate = Number(args.rate);
const seconds = Number(args.seconds);
const connections = Number(args.connections);
for (const [flag, value] of [
  ['--events', events],
  ['--rate', rate],
  ['--seconds', seconds],
  ['--connections', connections],
] as const) {
  if (!Number.isInteger(value) || value < 1) {
    process.stderr.write(`bench:load: ${flag} must be a whole number >= 1\n`);
    process.exit(2);
  }
}

const root = resolve(import.meta.dirname, '..', '..');
const main = resolve(root, 'cli/src/main.ts');
const config = loadConfigOrExit({ ...process.env, LOG_LEVEL: 'warn' });
const log = (line: string) => process.stderr.write(`[bench:load] ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const readKey = 'bench-load-read-key-0001';

/** The reads of bench:api: a dashboard's year figures, the day's merged series, the analytics tables. */
const year = { from: '2026-01-01', to: '2026-12-31' };
function readPaths(): string[] {
  const to = new Date();
  const from = new Date(to.getTime() - 24 * 3600_000);
  return [
    `/api/v1/kpis?from=${year.from}&to=${year.to}`,
    `/api/v1/sales?interval=day&from=${year.from}&to=${year.to}`,
    `/api/v1/sales?interval=hour&from=${from.toISOString()}&to=${to.toISOString()}`,
    '/api/v1/products/top',
    '/api/v1/customers/segments',
    '/api/v1/trends',
  ];
}

// ------------------------------------------------------------------ the warehouse, built once

const databases = { rt: `lambdamart_bench_load_rt_${events}`, wh: `lambdamart_bench_load_wh_${events}` };
const rtUrl = databaseUrl(config.realtimeDatabaseUrl, databases.rt);
const whUrl = databaseUrl(config.realtimeDatabaseUrl, databases.wh);
const builtMark = `bench:load warehouse of ${events} events, complete`;

async function ensureWarehouse(): Promise<boolean> {
  const admin = createPool(databaseUrl(config.realtimeDatabaseUrl, 'postgres'), { max: 1, application: 'lambdamart-bench-load' });
  try {
    const { rows } = await admin.query<{ mark: string | null }>(
      `select shobj_description(oid, 'pg_database') as mark from pg_database where datname = $1`,
      [databases.wh],
    );
    const rtExists = (await admin.query('select 1 from pg_database where datname = $1', [databases.rt])).rowCount === 1;
    if (!args.rebuild && rtExists && rows[0]?.mark === builtMark) {
      await migrateUp('realtime', rtUrl);
      await migrateUp('warehouse', whUrl);
      return true;
    }
    log(`building ${databases.rt} and ${databases.wh} from ${events.toLocaleString('en')} events`);
    for (const name of [databases.rt, databases.wh]) {
      await admin.query(`drop database if exists ${name} with (force)`);
      await admin.query(`create database ${name}`);
    }
    await migrateUp('realtime', rtUrl);
    await migrateUp('warehouse', whUrl);
    const lakeDir = await mkdtemp(join(tmpdir(), 'lambdamart-bench-load-lake-'));
    try {
      const batchConfig = loadConfigOrExit({
        ...process.env,
        REALTIME_DATABASE_URL: rtUrl,
        WAREHOUSE_DATABASE_URL: whUrl,
        LAKE_DIR: lakeDir,
        LOG_LEVEL: 'warn',
      });
      const rt = createPool(rtUrl, { max: 2, application: 'lambdamart-bench-load' });
      try {
        await synthesiseCatalog(rt);
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
      await runJobs(batchConfig, ['archive'], { triggeredBy: 'bench' });
      await runJobs(batchConfig, 'all', { fullRefresh: true, triggeredBy: 'bench' });
    } finally {
      await rm(lakeDir, { recursive: true, force: true });
    }
    await admin.query(`comment on database ${databases.wh} is '${builtMark}'`);
    return false;
  } finally {
    await admin.end();
  }
}

// ------------------------------------------------------------------ the processes

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  await new Promise((r) => server.close(r));
  if (typeof address !== 'object' || !address) throw new Error('no free port');
  return address.port;
}

const env = { ...process.env, REALTIME_DATABASE_URL: rtUrl, WAREHOUSE_DATABASE_URL: whUrl, LOG_LEVEL: 'warn' };

function lambdamart(argv: string[], extraEnv: Record<string, string> = {}): { child: ChildProcess; exited: Promise<number | null> } {
  // Their output goes to stderr: stdout is the table and the JSON line.
  const child = spawn(process.execPath, ['--import', 'tsx', main, ...argv], {
    env: { ...env, ...extraEnv },
    stdio: ['ignore', 2, 'inherit'],
  });
  return { child, exited: new Promise((r) => child.once('exit', (code) => r(code))) };
}

async function stop(process_: { child: ChildProcess; exited: Promise<number | null> }): Promise<void> {
  if (process_.child.exitCode === null) process_.child.kill('SIGTERM');
  await process_.exited;
}

async function startApi(): Promise<{ child: ChildProcess; exited: Promise<number | null>; url: string }> {
  const port = await freePort();
  const api = lambdamart(['serve'], { API_PORT: String(port), API_KEYS: `${readKey}:read`, API_RATE_LIMIT: '100000000' });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  while (
    !(await fetch(`${url}/health`).then(
      (r) => r.ok,
      () => false,
    ))
  ) {
    if (api.child.exitCode !== null) throw new Error(`lambdamart serve exited with ${api.child.exitCode}`);
    if (Date.now() > deadline) throw new Error(`lambdamart serve did not answer ${url}/health within 60 s`);
    await sleep(200);
  }
  return { ...api, url };
}

/** Events in the realtime tables the savers write. */
async function savedEvents(rt: Pool): Promise<number> {
  const { rows } = await rt.query<{ n: string }>(
    `select (select count(*) from transactions) + (select count(*) from product_view_events) + (select count(*) from cart_events) as n`,
  );
  return Number(rows[0]?.n ?? 0);
}

/** Peak resident memory of a process (VmHWM), in MB. */
function peakRssMb(pid: number | undefined): number {
  try {
    return Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

interface Load {
  rps: number;
  p50: number;
  p99: number;
  failed: number;
}

async function load(url: string): Promise<Load> {
  const result = await autocannon({
    url,
    connections,
    duration: seconds,
    headers: { 'x-api-key': readKey },
    requests: readPaths().map((path) => ({ method: 'GET' as const, path })),
    timeout: 60,
  });
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, failed: result.non2xx + result.errors };
}

// ------------------------------------------------------------------ the run

const reused = await ensureWarehouse();
log(`${reused ? 'reusing' : 'built'} ${databases.rt} and ${databases.wh}`);
const suffix = `.bench-load-${randomBytes(4).toString('hex')}`;
const topics = await createSaverTopics(config, suffix);
const rt = createPool(rtUrl, { max: 1, application: 'lambdamart-bench-load' });
const api = await startApi();
let baseline: Load;
let loaded: Load;
let ingest = { saved: 0, perSecond: 0 };
let saversRss = 0;
try {
  for (const path of readPaths()) {
    const response = await fetch(`${api.url}${path}`, { headers: { 'x-api-key': readKey } });
    if (!response.ok) throw new Error(`GET ${path}: ${response.status} ${(await response.text()).slice(0, 300)}`);
  }
  log(`baseline: ${connections} connections for ${seconds} s, no ingest`);
  baseline = await load(api.url);

  log(`ingest: generator at ${rate} events/s and the savers on topics *${suffix}`);
  const savers = lambdamart(['speed', '--group', `bench-load${suffix}`, '--topic-suffix', suffix, '--metrics-port', '0']);
  const generator = lambdamart(['generate', '--rate', String(rate), '--topic-suffix', suffix, '--duration', `${seconds + 20}s`]);
  try {
    // Until the savers save at a steady pace: the first seconds are the group join and the catalog.
    await sleep(8_000);
    const before = await savedEvents(rt);
    const started = performance.now();
    log(`with ingest: ${connections} connections for ${seconds} s`);
    loaded = await load(api.url);
    const elapsed = (performance.now() - started) / 1000;
    const saved = (await savedEvents(rt)) - before;
    ingest = { saved, perSecond: saved / elapsed };
    saversRss = peakRssMb(savers.child.pid);
  } finally {
    await stop(generator);
    await stop(savers);
  }
} finally {
  await stop(api);
  await rt.end();
  await deleteSaverTopics(config, topics);
}

const table = [
  ['API load (same reads as bench:api)', 'req/s', 'p50 ms', 'p99 ms', 'not 2xx'],
  ['baseline: no ingest', ...figures(baseline)],
  [`while ingesting (generator at ${rate.toLocaleString('en')}/s, real savers)`, ...figures(loaded)],
];
function figures(l: Load): string[] {
  return [String(Math.round(l.rps)), l.p50.toFixed(1), l.p99.toFixed(1), String(l.failed)];
}
const widths = table[0]?.map((_, c) => Math.max(...table.map((r) => (r[c] ?? '').length))) ?? [];
for (const row of table) process.stdout.write(`${row.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join('  ')}\n`);
const ratio = loaded.p99 / Math.max(0.001, baseline.p99);
process.stdout.write(
  [
    `ingest reached while measured: ${Math.round(ingest.perSecond).toLocaleString('en')} events/s saved (target ${rate.toLocaleString('en')})`,
    `p99 with ingest / p99 without: ${ratio.toFixed(2)}x`,
    `warehouse: ${events.toLocaleString('en')} events${reused ? ' (reused)' : ''}; savers peak RSS ${Math.round(saversRss)} MB`,
    '',
  ].join('\n'),
);
process.stdout.write(
  `${JSON.stringify({
    bench: 'load',
    value: loaded.p99,
    unit: 'ms (API p99 while ingesting)',
    baseline: baseline.p99,
    ratio: Number(ratio.toFixed(2)),
    rss_mb: Math.round(saversRss),
    rps: Math.round(loaded.rps),
    p50_ms: loaded.p50,
    baseline_rps: Math.round(baseline.rps),
    baseline_p50_ms: baseline.p50,
    ingest_target_per_s: rate,
    ingest_saved_per_s: Math.round(ingest.perSecond),
    failed_requests: baseline.failed + loaded.failed,
    events,
    connections,
    seconds,
  })}\n`,
);
if (baseline.failed + loaded.failed > 0) process.exitCode = 1;
