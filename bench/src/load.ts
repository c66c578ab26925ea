/**
 * `npm run bench:load`: the API's latency while the speed layer ingests. The API (`lambdamart
 * serve`, a child process) answers the reads of bench:api, round robin under autocannon, on a
 * warehouse built from `--events` raw events (default 200,000) by the batch jobs:
 *
 *   1. baseline: that load alone;
 *   2. a backlog: `lambdamart generate --rate max --count <--backlog>` fills this run's own topics
 *      before anything is measured, so that no generator competes for the CPU while measured;
 *   3. the same load while `lambdamart speed` (the real savers) ingest that backlog into the same
 *      realtime database the API reads its speed view from, at their own pace capped at `--rate`
 *      (default 20,000 events/s, the issue's target; `--rate max`: no cap). The savers start first
 *      and the load begins once they save (group join and catalog done).
 *
 * Prints both, the ingest rate reached (events the savers saved per second in the realtime
 * database while measured), the machine's load average at the start and the DESIGN.md JSON line.
 * The databases lambdamart_bench_load_{rt,wh}_<events> are built once and reused (`--rebuild`
 * builds them again); the topics are this run's and deleted at the end.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { spawnCli } from '@lambdamart/cli-launch';
import { createPool, loadConfigOrExit, type Pool } from '@lambdamart/core';
import { createSaverTopics, deleteSaverTopics } from '@lambdamart/speed-layer/testing';
import { countMessages } from '@lambdamart/test-helpers';
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
import { HeapLimitMb, withHeapLimit } from './heap.ts';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '200000' },
    rate: { type: 'string', default: '20000' },
    seconds: { type: 'string', default: '20' },
    connections: { type: 'string', default: '20' },
    backlog: { type: 'string' },
    rebuild: { type: 'boolean', default: false },
  },
});
const { events, seconds, connections } = wholeNumbers('bench:load', {
  events: args.events,
  seconds: args.seconds,
  connections: args.connections,
});
// `--rate max`: the savers at their own pace, no cap (0 below).
const rate = args.rate === 'max' ? 0 : wholeNumbers('bench:load', { rate: args.rate }).rate;
// Seconds of the savers' start before the load, and a margin: the backlog must outlast the window.
const warmupSeconds = 10;
const { backlog } = wholeNumbers('bench:load', {
  backlog: args.backlog ?? String((rate > 0 ? rate : 40_000) * (seconds + warmupSeconds)),
});
const loadAverageAtStart = loadavg().map((l) => Number(l.toFixed(2)));

const config = loadConfigOrExit({ ...process.env, LOG_LEVEL: 'warn' });
const log = (line: string) => process.stderr.write(`[bench:load] ${line}\n`);
const readKey = 'bench-load-read-key-0001';

// ------------------------------------------------------------------ the warehouse, built once (api-fixture.ts)

const warehouse = benchWarehouse(config, 'load', events);
const { databases, rtUrl, whUrl } = warehouse;

// ------------------------------------------------------------------ the processes

const env = { ...process.env, REALTIME_DATABASE_URL: rtUrl, WAREHOUSE_DATABASE_URL: whUrl, LOG_LEVEL: 'warn' };

function lambdamart(argv: string[], extraEnv: NodeJS.ProcessEnv = {}): { child: ChildProcess; exited: Promise<number | null> } {
  // Their output goes to stderr: stdout is the table and the JSON line.
  const child = spawnCli(argv, {
    env: { ...env, ...extraEnv },
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
log(`${reused ? 'reusing' : 'built'} ${databases.rt} and ${databases.wh}; load average at start ${loadAverageAtStart.join(' ')}`);
const suffix = `.bench-load-${randomBytes(4).toString('hex')}`;
const topics = await createSaverTopics(config, suffix);
const rt = createPool(rtUrl, { max: 1, application: 'lambdamart-bench-load' });
const api = await startApi(warehouse, readKey);
let baseline: Load;
let loaded: Load;
let ingest = { saved: 0, perSecond: 0, lagAtEnd: 0 };
let fill = { events: 0, perSecond: 0 };
let saversRss = 0;
const eventTopics = [topics.transactions, topics.productViews, topics.cartEvents];
/** Messages in this run's event topics (the backlog). */
const messagesInEventTopics = async () => {
  let messages = 0;
  for (const topic of eventTopics) messages += await countMessages(config, topic);
  return messages;
};
try {
  await checkReads(api.url, dashboardReads(), readKey);
  log(`baseline: ${connections} connections for ${seconds} s, no ingest`);
  baseline = await load(api.url);

  log(`backlog: ${backlog.toLocaleString('en')} events into topics *${suffix} (generator at its full rate, nothing measured)`);
  const fillStarted = performance.now();
  const generator = lambdamart(['generate', '--rate', 'max', '--count', String(backlog), '--topic-suffix', suffix]);
  const generatorCode = await generator.exited;
  if (generatorCode !== 0) throw new Error(`bench:load: lambdamart generate exited with ${generatorCode} while filling the backlog`);
  const inTopics = await messagesInEventTopics();
  fill = { events: inTopics, perSecond: inTopics / ((performance.now() - fillStarted) / 1000) };
  log(`backlog: ${inTopics.toLocaleString('en')} messages in ${((performance.now() - fillStarted) / 1000).toFixed(1)} s`);

  const cap = rate > 0 ? ['--max-rate', String(rate)] : [];
  log(`ingest: the savers on topics *${suffix}${rate > 0 ? `, capped at ${rate} events/s` : ', no cap'}`);
  const savedBefore = await savedEvents(rt);
  const savers = lambdamart(['speed', '--group', `bench-load${suffix}`, '--topic-suffix', suffix, '--metrics-port', '0', ...cap], {
    // The savers' heap limit, as docker-compose's speed service sets it.
    NODE_OPTIONS: withHeapLimit(HeapLimitMb.speed),
  });
  try {
    // Until the savers save: the first seconds are the group join and the catalog.
    const until = Date.now() + 60_000;
    while ((await savedEvents(rt)) === savedBefore && Date.now() < until && savers.child.exitCode === null) await sleep(250);
    await sleep(2_000);
    const before = await savedEvents(rt);
    const started = performance.now();
    log(`with ingest: ${connections} connections for ${seconds} s`);
    loaded = await load(api.url);
    const elapsed = (performance.now() - started) / 1000;
    const after = await savedEvents(rt);
    ingest = { saved: after - before, perSecond: (after - before) / elapsed, lagAtEnd: fill.events - (after - savedBefore) };
    saversRss = peakRssMb(savers.child.pid);
    if (savers.child.exitCode !== null) throw new Error(`bench:load: the savers exited with ${savers.child.exitCode} while measured`);
  } finally {
    await stop(savers);
  }
} finally {
  await stop(api);
  await rt.end();
  await deleteSaverTopics(config, topics);
}

const target = rate > 0 ? `capped at ${rate.toLocaleString('en')}/s` : 'no cap';
const table = [
  ['API load (same reads as bench:api)', 'req/s', 'p50 ms', 'p99 ms', 'not 2xx', 'ingest events/s'],
  ['baseline: no ingest', ...figures(baseline), '0'],
  [`while the real savers ingest a backlog (${target})`, ...figures(loaded), Math.round(ingest.perSecond).toLocaleString('en')],
];
printTable(table);
const ratio = loaded.p99 / Math.max(0.001, baseline.p99);
// Fewer messages left than the window would have taken: the savers ran dry, the rate is a lower bound.
const ranDry = ingest.lagAtEnd <= 0;
process.stdout.write(
  [
    `ingest reached while measured: ${Math.round(ingest.perSecond).toLocaleString('en')} events/s saved in the realtime database (${target}; target 20,000)${ranDry ? ' - the backlog ran out: a lower bound' : `, ${ingest.lagAtEnd.toLocaleString('en')} messages still waiting at the end`}`,
    `backlog: ${fill.events.toLocaleString('en')} events filled at ${Math.round(fill.perSecond).toLocaleString('en')} events/s before the measurement`,
    `API req/s with ingest / without: ${(loaded.rps / Math.max(1, baseline.rps)).toFixed(2)}x; p99 with ingest / without: ${ratio.toFixed(2)}x`,
    `warehouse: ${events.toLocaleString('en')} events${reused ? ' (reused)' : ''}; savers peak RSS ${Math.round(saversRss)} MB; load average at start ${loadAverageAtStart.join(' ')}`,
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
    ingest_cap_per_s: rate,
    ingest_saved_per_s: Math.round(ingest.perSecond),
    ingest_ran_dry: ranDry,
    backlog_events: fill.events,
    backlog_fill_per_s: Math.round(fill.perSecond),
    rps_ratio: Number((loaded.rps / Math.max(1, baseline.rps)).toFixed(2)),
    loadavg_start: loadAverageAtStart,
    failed_requests: baseline.failed + loaded.failed,
    events,
    connections,
    seconds,
  })}\n`,
);
if (baseline.failed + loaded.failed > 0) process.exitCode = 1;
