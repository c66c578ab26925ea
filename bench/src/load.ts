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
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { spawnCli } from '@lambdamart/cli-launch';
import { createPool, loadConfigOrExit, type Pool } from '@lambdamart/core';
import { createSaverTopics, deleteSaverTopics } from '@lambdamart/speed-layer/testing';
import {
  benchWarehouse,
  checkReads,
  dashboardReads,
  ensureWarehouse,
  figures,
  type Load,
  peakRssMb,
  printTable,
  readLoad,
  sleep,
  startApi,
  wholeNumbers,
} from './api-fixture.ts';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '200000' },
    rate: { type: 'string', default: '20000' },
    seconds: { type: 'string', default: '20' },
    connections: { type: 'string', default: '20' },
    rebuild: { type: 'boolean', default: false },
  },
});
const { events, rate, seconds, connections } = wholeNumbers('bench:load', {
  events: args.events,
  rate: args.rate,
  seconds: args.seconds,
  connections: args.connections,
});

const config = loadConfigOrExit({ ...process.env, LOG_LEVEL: 'warn' });
const log = (line: string) => process.stderr.write(`[bench:load] ${line}\n`);
const readKey = 'bench-load-read-key-0001';

// ------------------------------------------------------------------ the warehouse, built once (api-fixture.ts)

const warehouse = benchWarehouse(config, 'load', events);
const { databases, rtUrl, whUrl } = warehouse;

// ------------------------------------------------------------------ the processes

const env = { ...process.env, REALTIME_DATABASE_URL: rtUrl, WAREHOUSE_DATABASE_URL: whUrl, LOG_LEVEL: 'warn' };

function lambdamart(argv: string[]): { child: ChildProcess; exited: Promise<number | null> } {
  // Their output goes to stderr: stdout is the table and the JSON line.
  const child = spawnCli(argv, {
    env,
    stdio: ['ignore', 2, 'inherit'],
  });
  return { child, exited: new Promise((r) => child.once('exit', (code) => r(code))) };
}

async function stop(process_: { child: ChildProcess; exited: Promise<number | null> }): Promise<void> {
  if (process_.child.exitCode === null) process_.child.kill('SIGTERM');
  await process_.exited;
}

/** Events in the realtime tables the savers write. */
async function savedEvents(rt: Pool): Promise<number> {
  const { rows } = await rt.query<{ n: string }>(
    `select (select count(*) from transactions) + (select count(*) from product_view_events) + (select count(*) from cart_events) as n`,
  );
  return Number(rows[0]?.n ?? 0);
}

/** The reads of bench:api, round robin, `connections` at once for `seconds`. */
async function load(url: string): Promise<Load> {
  const result = await readLoad(url, dashboardReads(), { connections, seconds, readKey });
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, failed: result.non2xx + result.errors };
}

// ------------------------------------------------------------------ the run

const { reused } = await ensureWarehouse(config, warehouse, { rebuild: args.rebuild, log });
log(`${reused ? 'reusing' : 'built'} ${databases.rt} and ${databases.wh}`);
const suffix = `.bench-load-${randomBytes(4).toString('hex')}`;
const topics = await createSaverTopics(config, suffix);
const rt = createPool(rtUrl, { max: 1, application: 'lambdamart-bench-load' });
const api = await startApi(warehouse, readKey);
let baseline: Load;
let loaded: Load;
let ingest = { saved: 0, perSecond: 0 };
let saversRss = 0;
try {
  await checkReads(api.url, dashboardReads(), readKey);
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
printTable(table);
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
