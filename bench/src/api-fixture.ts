/**
 * What the API benchmarks (bench:api, bench:load) share: their options checked as whole numbers,
 * the bench warehouse (lambdamart_bench_<name>_{rt,wh}_<events>, built once from synthesised
 * history by the batch jobs and reused while its build mark is there), `lambdamart serve` as a
 * child process on a free port, the dashboard's reads, autocannon against them, and the table of
 * figures.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runJobs } from '@lambdamart/batch-layer';
import { spawnCli } from '@lambdamart/cli-launch';
import { type Config, createPool, loadConfigOrExit } from '@lambdamart/core';
import { databaseUrl } from '@lambdamart/test-helpers';
import { migrateUp } from '@lambdamart/warehouse';
import autocannon from 'autocannon';
import { synthesise, synthesiseCatalog, yearOfHistory } from './batch-data.ts';
import { HeapLimitMb, withHeapLimit } from './heap.ts';
import { peakRssKb } from './process-memory.ts';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The options as numbers, by name; exits 2 with `<bench>: --<name> must be a whole number >= 1`
 * at the first that is not one.
 */
export function wholeNumbers<K extends string>(bench: string, options: Record<K, string>): Record<K, number> {
  const numbers = {} as Record<K, number>;
  for (const [name, text] of Object.entries(options) as [K, string][]) {
    const value = Number(text);
    if (!Number.isInteger(value) || value < 1) {
      process.stderr.write(`${bench}: --${name} must be a whole number >= 1\n`);
      process.exit(2);
    }
    numbers[name] = value;
  }
  return numbers;
}

// ------------------------------------------------------------------ the reads

/** The year of history the warehouse holds. */
export const year = { from: '2026-01-01', to: '2026-12-31' };
export const yearKpisPath = `/api/v1/kpis?from=${year.from}&to=${year.to}`;

/** The merged (batch view + speed view) hourly sales of the last 24 hours. */
export function mergedSalesPath(): string {
  const to = new Date();
  const from = new Date(to.getTime() - 24 * 3600_000);
  return `/api/v1/sales?interval=hour&from=${from.toISOString()}&to=${to.toISOString()}`;
}

/** What a dashboard asks again and again: the year's figures, the day's merged series, the analytics tables. */
export function dashboardReads(): string[] {
  return [
    yearKpisPath,
    `/api/v1/sales?interval=day&from=${year.from}&to=${year.to}`,
    mergedSalesPath(),
    '/api/v1/products/top',
    '/api/v1/customers/segments',
    '/api/v1/trends',
  ];
}

// ------------------------------------------------------------------ the warehouse, built once

export interface BenchWarehouse {
  /** The bench's name: bench:<name> in the build mark, lambdamart-bench-<name> as the application. */
  name: string;
  events: number;
  databases: { rt: string; wh: string };
  rtUrl: string;
  whUrl: string;
  application: string;
}

export function benchWarehouse(config: Config, name: string, events: number): BenchWarehouse {
  const databases = { rt: `lambdamart_bench_${name}_rt_${events}`, wh: `lambdamart_bench_${name}_wh_${events}` };
  return {
    name,
    events,
    databases,
    rtUrl: databaseUrl(config.realtimeDatabaseUrl, databases.rt),
    whUrl: databaseUrl(config.realtimeDatabaseUrl, databases.wh),
    application: `lambdamart-bench-${name}`,
  };
}

export async function timed<T>(run: () => Promise<T>): Promise<[T, number]> {
  const started = process.hrtime.bigint();
  const result = await run();
  return [result, Number(process.hrtime.bigint() - started) / 1e9];
}

/**
 * Builds the two databases from `events` synthesised events of history (then an archive and a full
 * refresh of every job) unless a finished build is there, marked by a comment on the warehouse
 * database. A reused one is migrated up to this tree's schema, then `onReuse` runs.
 */
export async function ensureWarehouse(
  config: Config,
  warehouse: BenchWarehouse,
  options: { rebuild: boolean; log: (line: string) => void; onReuse?: () => Promise<void> },
): Promise<{ reused: boolean; buildSeconds: number }> {
  const { databases, rtUrl, whUrl, events, application } = warehouse;
  const builtMark = `bench:${warehouse.name} warehouse of ${events} events, complete`;
  const admin = createPool(databaseUrl(config.realtimeDatabaseUrl, 'postgres'), { max: 1, application });
  try {
    const { rows } = await admin.query<{ mark: string | null }>(
      `select shobj_description(oid, 'pg_database') as mark from pg_database where datname = $1`,
      [databases.wh],
    );
    const rtExists = (await admin.query('select 1 from pg_database where datname = $1', [databases.rt])).rowCount === 1;
    if (!options.rebuild && rtExists && rows[0]?.mark === builtMark) {
      // Built by an older tree: bring its schema up to this one (the API reads the new columns).
      await migrateUp('realtime', rtUrl);
      await migrateUp('warehouse', whUrl);
      await options.onReuse?.();
      return { reused: true, buildSeconds: 0 };
    }
    options.log(`building ${databases.rt} and ${databases.wh} from ${events.toLocaleString('en')} events`);
    for (const name of [databases.rt, databases.wh]) {
      await admin.query(`drop database if exists ${name} with (force)`);
      await admin.query(`create database ${name}`);
    }
    const [, buildSeconds] = await timed(async () => {
      await migrateUp('realtime', rtUrl);
      await migrateUp('warehouse', whUrl);
      const lakeDir = await mkdtemp(join(tmpdir(), `lambdamart-bench-${warehouse.name}-lake-`));
      try {
        const batchConfig = loadConfigOrExit({
          ...process.env,
          REALTIME_DATABASE_URL: rtUrl,
          WAREHOUSE_DATABASE_URL: whUrl,
          LAKE_DIR: lakeDir,
          LOG_LEVEL: 'warn',
        });
        const rt = createPool(rtUrl, { max: 2, application });
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
        options.log('history synthesised; archive, then a full refresh of every job');
        await runJobs(batchConfig, ['archive'], { triggeredBy: 'bench' });
        await runJobs(batchConfig, 'all', { fullRefresh: true, triggeredBy: 'bench' });
      } finally {
        await rm(lakeDir, { recursive: true, force: true });
      }
    });
    await admin.query(`comment on database ${databases.wh} is '${builtMark}'`);
    options.log(`warehouse built in ${buildSeconds.toFixed(1)} s`);
    return { reused: false, buildSeconds };
  } finally {
    await admin.end();
  }
}

// ------------------------------------------------------------------ the API, a process of its own

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  await new Promise((r) => server.close(r));
  if (typeof address !== 'object' || !address) throw new Error('no free port');
  return address.port;
}

/** Peak resident memory of a process (VmHWM), in MB. */
export function peakRssMb(pid: number | undefined): number {
  return peakRssKb(pid) / 1024;
}

export interface RunningApi {
  child: ChildProcess;
  url: string;
  exited: Promise<number | null>;
}

/**
 * `lambdamart serve` on a free port, on the bench warehouse, taking `readKey` and no rate limit;
 * returns once /health answers (60 s at most).
 */
export async function startApi(warehouse: BenchWarehouse, readKey: string, extraEnv: Record<string, string> = {}): Promise<RunningApi> {
  const port = await freePort();
  const child = spawnCli(['serve'], {
    env: {
      ...process.env,
      REALTIME_DATABASE_URL: warehouse.rtUrl,
      WAREHOUSE_DATABASE_URL: warehouse.whUrl,
      API_PORT: String(port),
      // The API's heap limit, as docker-compose's api service sets it (without it: RSS 306 MB).
      NODE_OPTIONS: withHeapLimit(HeapLimitMb.api),
      ...extraEnv,
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

// ------------------------------------------------------------------ the load

/** One request each: a broken endpoint stops the bench with its answer, not as a rate of 4xx. */
export async function checkReads(url: string, paths: readonly string[], readKey: string): Promise<void> {
  for (const path of paths) {
    const response = await fetch(`${url}${path}`, { headers: { 'x-api-key': readKey } });
    if (!response.ok) throw new Error(`GET ${path}: ${response.status} ${(await response.text()).slice(0, 300)}`);
  }
}

export interface Load {
  rps: number;
  p50: number;
  p99: number;
  /** Answers that were not 2xx, and connection errors. */
  failed: number;
}

/**
 * autocannon against `paths` (round robin per connection) for `seconds`. With `failures`, every
 * answer that is not a 2xx is counted there per status and path, with the first body.
 */
export async function readLoad(
  url: string,
  paths: readonly string[],
  options: { connections: number; seconds: number; readKey: string; failures?: Map<string, { count: number; body: string }> },
): Promise<autocannon.Result> {
  const failures = options.failures;
  return await autocannon({
    url,
    connections: options.connections,
    duration: options.seconds,
    headers: { 'x-api-key': options.readKey },
    requests: paths.map((path) => ({
      method: 'GET' as const,
      path,
      ...(failures && {
        onResponse: (status: number, body: string) => {
          if (status < 300) return;
          const key = `${status} ${path}`;
          const seen = failures.get(key) ?? { count: 0, body: body.slice(0, 300) };
          seen.count++;
          failures.set(key, seen);
        },
      }),
    })),
    // A slow answer is a measurement, not an error: only one slower than a minute is given up.
    timeout: 60,
  });
}

/** A load's cells: req/s, p50 ms, p99 ms, not 2xx. */
export function figures(l: Load): string[] {
  return [String(Math.round(l.rps)), l.p50.toFixed(1), l.p99.toFixed(1), String(l.failed)];
}

/** Writes `table` to stdout, its columns padded to their widest cell. */
export function printTable(table: readonly string[][]): void {
  const widths = table[0]?.map((_, c) => Math.max(...table.map((r) => (r[c] ?? '').length))) ?? [];
  for (const row of table) process.stdout.write(`${row.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join('  ')}\n`);
}
