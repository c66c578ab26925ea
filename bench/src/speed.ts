/**
 * `npm run bench:speed`: the savers (`lambdamart speed`, a child process, every guarantee on)
 * against the customer's design-notes saver (one INSERT per event, autocommit), on the same
 * topics in the same run, each into a temporary realtime database of its own.
 *
 *   1. produce BENCH_SPEED_EVENTS events (default 1,000,000: 60% views, 25% cart events,
 *      15% transactions) and the catalog to bench topics with a random suffix;
 *   2. baseline: the naive saver for BENCH_SPEED_BASELINE_SECONDS (default 15), events/s;
 *   3. the savers drain the whole backlog: events/s from the first commit to the last;
 *   4. freshness: a steady 5,000 events/s for BENCH_SPEED_STEADY_SECONDS (default 25) with current
 *      timestamps; p50/p95/p99 of ingested_at - event timestamp, and the saver's peak RSS.
 *
 * The savers run with docker-compose's heap limit (`bench/src/heap.ts`).
 *
 * `--processes 1,2,3` drains the same backlog once per count, each time with that many saver
 * processes in one consumer group sharing the partitions (3 a topic, 12 in all), each into a
 * database of its own, and prints events/s per count against the baseline and against 1 process;
 * the steady freshness run uses the first count.
 *
 * Ends with one JSON line (DESIGN.md, "Benchmarks"). Run it as
 * `flock /tmp/lambdamart-bench.lock npm run bench:speed [-- --processes 1,2,3]`.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  type Config,
  createKafka,
  createPool,
  type EventKind,
  loadConfig,
  type OutgoingMessage,
  type Pool,
  parseEvent,
} from '@lambdamart/core';
import type { SaverTopics } from '@lambdamart/speed-layer';
import {
  catalogRecord,
  createSaverTopics,
  deleteSaverTopics,
  messagesOf,
  mixedEvent,
  PRODUCT_COUNT,
  randomSuffix,
  sendAll,
  withProducer,
} from '@lambdamart/speed-layer/testing';
import { countMessages, withTempDatabase } from '@lambdamart/test-helpers';
import { migrateUp } from '@lambdamart/warehouse';
import { HeapLimitMb, withHeapLimit } from './heap.ts';

const env = process.env;
const TOTAL = Number(env.BENCH_SPEED_EVENTS ?? 1_000_000);
const BASELINE_SECONDS = Number(env.BENCH_SPEED_BASELINE_SECONDS ?? 15);
const STEADY_SECONDS = Number(env.BENCH_SPEED_STEADY_SECONDS ?? 25);
const STEADY_RATE = 5_000;
const { values: args } = parseArgs({ options: { processes: { type: 'string', default: '1' } } });
const PROCESSES = (args.processes ?? '1').split(',').map((n) => {
  const count = Number(n.trim());
  if (!Number.isInteger(count) || count < 1 || count > 12)
    throw new Error(`--processes takes counts of saver processes from 1 to 12, like 1,2,3; got '${n}'`);
  return count;
});
const config = loadConfig({ ...env, LOG_LEVEL: 'warn' });
const log = (line: string) => process.stderr.write(`[bench:speed] ${line}\n`);

async function produceBacklog(topics: SaverTopics): Promise<void> {
  const started = Date.now();
  await withProducer(config, async (producer) => {
    await sendAll(
      producer,
      topics.productCatalog,
      messagesOf(
        Array.from({ length: PRODUCT_COUNT }, (_, i) => catalogRecord(i)),
        'product_id',
      ),
    );
    const chunk = 20_000;
    for (let from = 0; from < TOTAL; from += chunk) {
      const byTopic: Partial<Record<keyof SaverTopics, OutgoingMessage[]>> = {};
      for (let i = from; i < Math.min(TOTAL, from + chunk); i++) {
        const { topic, event } = mixedEvent(i);
        const list = byTopic[topic] ?? [];
        byTopic[topic] = list;
        list.push({ key: (event as { user_id: string }).user_id, value: JSON.stringify(event) });
      }
      await Promise.all(
        Object.entries(byTopic).map(([topic, messages]) => sendAll(producer, topics[topic as keyof SaverTopics], messages, 5_000)),
      );
      if ((from / chunk) % 10 === 9) log(`produced ${from + chunk} of ${TOTAL}`);
    }
  });
  log(`produced ${TOTAL} events in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

/** The customer's design: each message validated and INSERTed on its own, autocommit. */
async function runBaseline(topics: SaverTopics, url: string): Promise<{ rate: number; saved: number; seconds: number }> {
  const pool = createPool(url, { max: 1, application: 'lambdamart-bench-baseline' });
  const kindOf: Record<string, EventKind> = {
    [topics.transactions]: 'transaction',
    [topics.productViews]: 'view',
    [topics.cartEvents]: 'cart',
    [topics.productCatalog]: 'catalog',
  };
  const consumer = createKafka({ ...config.kafka, clientId: 'lambdamart-bench-baseline' }).consumer({
    groupId: `bench-baseline-${Date.now()}`,
  });
  let saved = 0;
  let first = 0;
  await consumer.connect();
  await consumer.subscribe({ topics: Object.keys(kindOf), fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ topic, message }) => {
      const kind = kindOf[topic];
      if (!kind) return;
      const parsed = parseEvent(kind, message.value);
      if (!parsed.ok) return;
      const e = parsed.value as unknown as Record<string, never>;
      if (first === 0) first = performance.now();
      if (kind === 'view') {
        await pool.query(
          `insert into product_view_events (event_id, user_id, product_id, session_id, view_duration, country, event_timestamp)
           values ($1, $2, $3, $4, $5, $6, $7) on conflict do nothing`,
          [e.event_id, e.user_id, e.product_id, e.session_id, e.view_duration, e.country, e.timestamp],
        );
      } else if (kind === 'cart') {
        await pool.query(
          `insert into cart_events (event_id, event_type, user_id, product_id, session_id, quantity, price, country, event_timestamp)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9) on conflict do nothing`,
          [e.event_id, e.event_type, e.user_id, e.product_id, e.session_id, e.quantity, e.price, e.country, e.timestamp],
        );
      } else if (kind === 'transaction') {
        await pool.query(
          `insert into transactions (transaction_id, user_id, session_id, total_amount, currency, payment_method, country, transaction_timestamp)
           values ($1, $2, $3, $4, $5, $6, $7, $8) on conflict do nothing`,
          [e.transaction_id, e.user_id, e.session_id, e.total_amount, e.currency, e.payment_method, e.country, e.transaction_timestamp],
        );
        const lines = e.products as unknown as { product_id: string; quantity: number; price: number }[];
        for (const [i, line] of lines.entries()) {
          await pool.query(
            `insert into transaction_items (transaction_id, line_number, product_id, quantity, price)
             values ($1, $2, $3, $4, $5) on conflict do nothing`,
            [e.transaction_id, i + 1, line.product_id, line.quantity, line.price],
          );
        }
      } else {
        await pool.query(
          `insert into product_catalog_events (product_id, updated_at, name, category, price) values ($1, $2, $3, $4, $5)
           on conflict do nothing`,
          [e.product_id, e.updated_at, e.name, e.category, e.price],
        );
      }
      saved++;
    },
  });
  const started = performance.now();
  while (
    performance.now() - started < BASELINE_SECONDS * 1000 + 5_000 &&
    (first === 0 || performance.now() - first < BASELINE_SECONDS * 1000)
  ) {
    await sleep(100);
  }
  const seconds = (performance.now() - first) / 1000;
  const count = saved;
  await consumer.disconnect();
  await pool.end();
  return { rate: count / seconds, saved: count, seconds };
}

/** `lambdamart speed` as a child process; `ready` resolves once it has joined the group and sought its partitions. */
function spawnSavers(url: string, suffix: string, group: string) {
  const main = resolve(import.meta.dirname, '..', '..', 'cli', 'src', 'main.ts');
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', main, 'speed', '--group', group, '--topic-suffix', suffix, '--metrics-port', '0'],
    {
      // The savers' heap limit, as docker-compose's speed service sets it (without it: 433 MB draining).
      env: { ...env, REALTIME_DATABASE_URL: url, LOG_LEVEL: 'info', NODE_OPTIONS: withHeapLimit(HeapLimitMb.speed) },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((r) => {
    markReady = r;
  });
  let pending = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      if (line.includes('seek to the offsets stored')) markReady();
      if (/"level":[5-6]0/.test(line)) process.stderr.write(`${line}\n`);
    }
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, exited, ready };
}

async function savedOffsets(pool: Pool, group: string): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    'select coalesce(sum(next_offset), 0)::int as n from consumer_offsets where group_id = $1',
    [group],
  );
  return rows[0]?.n ?? 0;
}

function rssMb(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return kb / 1024;
  } catch {
    return 0;
  }
}

async function runFast(topics: SaverTopics, suffix: string, url: string, processes: number, steady: boolean) {
  const pool = createPool(url, { max: 2, application: 'lambdamart-bench' });
  // Everything in the topics: the backlog, and the steady run's events once an earlier count has run it.
  let expected = 0;
  for (const topic of Object.values(topics)) if (topic !== topics.deadLetters) expected += await countMessages(config, topic);
  const group = processes === 1 ? 'bench-fast' : `bench-fast-${processes}`;
  // The others share the group's partitions during the drain; the first alone serves the steady run.
  const others = Array.from({ length: processes - 1 }, () => spawnSavers(url, suffix, group));
  let savers = spawnSavers(url, suffix, group);
  let pid = savers.child.pid ?? 0;
  let peakRss = 0;
  const rssTimer = setInterval(() => {
    peakRss = Math.max(peakRss, rssMb(pid), ...others.map((o) => rssMb(o.child.pid ?? 0)));
  }, 200);
  try {
    // Every member has joined before the clock starts, so the drain is shared from the first commit.
    await Promise.all([savers.ready, ...others.map((o) => o.ready)]);
    // Drain: from the first commit to the last.
    let first = 0;
    let firstCount = 0;
    let count = 0;
    const deadline = performance.now() + 600_000;
    while (count < expected && performance.now() < deadline) {
      count = await savedOffsets(pool, group);
      if (first === 0 && count > 0) {
        first = performance.now();
        firstCount = count;
      }
      await sleep(50);
    }
    if (count < expected) throw new Error(`the savers saved ${count} of ${expected} in 10 minutes`);
    const drainSeconds = (performance.now() - first) / 1000;
    const rate = (count - firstCount) / drainSeconds;
    const drainRss = peakRss;
    log(
      `${processes} saver process(es) drained ${count} events in ${drainSeconds.toFixed(1)} s: ${Math.round(rate)} events/s, ` +
        `peak RSS ${drainRss.toFixed(0)} MB a process (load average ${loadAverage()})`,
    );
    await Promise.all(
      others.map(async (o) => {
        o.child.kill('SIGTERM');
        if ((await o.exited) !== 0) log('a draining saver did not exit 0 on SIGTERM');
      }),
    );
    others.length = 0;
    if (!steady) {
      const none = { p50: Number.NaN, p95: Number.NaN, p99: Number.NaN, n: 0 };
      return { rate, drainSeconds, drainRss, steadyRss: Number.NaN, freshness: none, saved: count, load: loadAverage() };
    }

    // Freshness and memory at a steady rate, with current timestamps, measured on a saver started
    // for it (the drain's peak would otherwise stay in its RSS: V8 keeps the heap it grew).
    savers.child.kill('SIGTERM');
    if ((await savers.exited) !== 0) log('the draining saver did not exit 0 on SIGTERM');
    savers = spawnSavers(url, suffix, group);
    pid = savers.child.pid ?? 0;
    await savers.ready;
    peakRss = 0;
    const steadyStart = new Date();
    let produced = 0;
    await withProducer(config, async (producer) => {
      const tick = 50;
      const perTick = (STEADY_RATE * tick) / 1000;
      const t0 = performance.now();
      for (let n = 0; performance.now() - t0 < STEADY_SECONDS * 1000; n++) {
        const at = new Date();
        const byTopic: Partial<Record<keyof SaverTopics, object[]>> = {};
        for (let i = 0; i < perTick; i++) {
          const { topic, event } = mixedEvent(TOTAL + produced + i, at);
          const list = byTopic[topic] ?? [];
          byTopic[topic] = list;
          list.push(event);
        }
        produced += perTick;
        await Promise.all(
          Object.entries(byTopic).map(([topic, events]) =>
            producer.send(topics[topic as keyof SaverTopics], messagesOf(events, 'user_id')),
          ),
        );
        const wait = t0 + (n + 1) * tick - performance.now();
        if (wait > 0) await sleep(wait);
      }
    });
    const steadyExpected = expected + produced;
    while ((await savedOffsets(pool, group)) < steadyExpected) await sleep(100);
    const { rows } = await pool.query<{ p50: number; p95: number; p99: number; n: number }>(
      `with lat as (
         select extract(epoch from ingested_at - event_timestamp) * 1000 as ms from product_view_events where event_timestamp >= $1
         union all select extract(epoch from ingested_at - event_timestamp) * 1000 from cart_events where event_timestamp >= $1
         union all select extract(epoch from ingested_at - transaction_timestamp) * 1000 from transactions where transaction_timestamp >= $1)
       select percentile_cont(0.5) within group (order by ms) as p50, percentile_cont(0.95) within group (order by ms) as p95,
              percentile_cont(0.99) within group (order by ms) as p99, count(*)::int as n from lat`,
      [steadyStart.toISOString()],
    );
    const f = rows[0] ?? { p50: Number.NaN, p95: Number.NaN, p99: Number.NaN, n: 0 };
    log(
      `steady ${STEADY_RATE}/s for ${STEADY_SECONDS} s: ${f.n} events, p50 ${f.p50.toFixed(0)} ms, p95 ${f.p95.toFixed(0)} ms, p99 ${f.p99.toFixed(0)} ms`,
    );
    return { rate, drainSeconds, drainRss, steadyRss: peakRss, freshness: f, saved: count, load: loadAverage() };
  } finally {
    clearInterval(rssTimer);
    for (const o of others) o.child.kill('SIGTERM');
    savers.child.kill('SIGTERM');
    const code = await savers.exited;
    if (code !== 0) log(`the savers exited with ${code} on SIGTERM`);
    await pool.end();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const loadAverage = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

async function main(config: Config): Promise<void> {
  const suffix = randomSuffix('bench');
  const topics = await createSaverTopics(config, suffix);
  try {
    await produceBacklog(topics);
    const baseline = await withTempDatabase('bench_base', async (url) => {
      await migrateUp('realtime', url);
      log(`baseline: one INSERT per event, autocommit, for ${BASELINE_SECONDS} s`);
      return runBaseline(topics, url);
    });
    log(`baseline saved ${baseline.saved} events in ${baseline.seconds.toFixed(1)} s: ${Math.round(baseline.rate)} events/s`);
    const runs: { processes: number; result: Awaited<ReturnType<typeof runFast>> }[] = [];
    for (const [i, processes] of PROCESSES.entries()) {
      const result = await withTempDatabase(`bench_fast_${processes}`, async (url) => {
        await migrateUp('realtime', url);
        return runFast(topics, suffix, url, processes, i === 0);
      });
      runs.push({ processes, result });
    }
    const fast = (runs[0] as (typeof runs)[number]).result;
    const ratio = fast.rate / baseline.rate;
    const table = [
      ['saver', 'events', 'seconds', 'events/s'],
      ['baseline (INSERT per event, autocommit)', String(baseline.saved), baseline.seconds.toFixed(1), String(Math.round(baseline.rate))],
      ...runs.map(({ processes, result }) => [
        `lambdamart speed (COPY, exactly once), ${processes} process(es)`,
        String(result.saved),
        result.drainSeconds.toFixed(1),
        String(Math.round(result.rate)),
      ]),
    ];
    const widths = table[0]?.map((_, c) => Math.max(...table.map((r) => (r[c] ?? '').length))) ?? [];
    for (const row of table) process.stdout.write(`${row.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join('  ')}\n`);
    process.stdout.write(
      [
        `ratio: ${ratio.toFixed(1)}x`,
        `freshness at ${STEADY_RATE} events/s (${fast.freshness.n} events): p50 ${fast.freshness.p50.toFixed(0)} ms, p95 ${fast.freshness.p95.toFixed(0)} ms, p99 ${fast.freshness.p99.toFixed(0)} ms`,
        `saver RSS: ${fast.drainRss.toFixed(0)} MB draining the backlog, ${fast.steadyRss.toFixed(0)} MB at ${STEADY_RATE} events/s (V8 heap limit ${HeapLimitMb.speed} MB, as docker-compose runs the savers)`,
        ...runs.map(
          ({ processes, result }) =>
            `${processes} process(es): ${Math.round(result.rate)} events/s, ${(result.rate / baseline.rate).toFixed(1)}x the baseline, ` +
            `${(result.rate / fast.rate).toFixed(2)}x ${runs[0]?.processes} process(es), peak RSS ${result.drainRss.toFixed(0)} MB a process ` +
            `(load average ${result.load})`,
        ),
        '',
      ].join('\n'),
    );
    process.stdout.write(
      `${JSON.stringify({
        bench: 'speed',
        value: Math.round(fast.rate),
        unit: 'events/s',
        baseline: Math.round(baseline.rate),
        ratio: Number(ratio.toFixed(1)),
        p50_freshness_ms: Math.round(fast.freshness.p50),
        p95_freshness_ms: Math.round(fast.freshness.p95),
        p99_freshness_ms: Math.round(fast.freshness.p99),
        // The issue's figure: a saver's resident memory under the steady load.
        rss_mb: Math.round(fast.steadyRss),
        drain_rss_mb: Math.round(fast.drainRss),
        events: TOTAL,
        drain_seconds: Number(fast.drainSeconds.toFixed(1)),
        processes: runs.map(({ processes, result }) => ({
          processes,
          value: Math.round(result.rate),
          ratio: Number((result.rate / baseline.rate).toFixed(1)),
          scaling: Number((result.rate / fast.rate).toFixed(2)),
          rss_mb: Math.round(result.drainRss),
          load_average: result.load,
        })),
      })}\n`,
    );
  } finally {
    await deleteSaverTopics(config, topics);
  }
}

await main(config);
