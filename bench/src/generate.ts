/**
 * `npm run bench:generate`: generated events into the local broker, against a baseline measured
 * in the same run (one awaited send() per event, the naive producer loop). Writes to bench topics
 * of its own (created here, deleted at the end). Each generator run is `lambdamart generate
 * --rate max --json` in a process of its own, as a user runs it (worker threads, each making,
 * encoding and sending its shards), and its RSS is that process's peak: a short sweep of batch
 * size and producers per worker with the default workers, then the best setting for --seconds with
 * --workers 1 and with the default, so the gain of the workers shows.
 *
 *   flock /work/wt/bench.lock npm run bench:generate [-- --seconds 30 --no-sweep --workers N]
 */
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { collectOutput, spawnCli } from '@lambdamart/cli-launch';
import { createEventProducer, type EventProducer, loadConfigOrExit, type ProducerCompression, Topics } from '@lambdamart/core';
import { defaultWorkers, type GeneratorSummary, generateEvents, MaxRateEventTimeRate, serializeEvent } from '@lambdamart/generators';
import { generatorTopicsWithSuffix } from '@lambdamart/generators/testing';
import { createTestTopics, deleteTestTopics } from '@lambdamart/test-helpers';
import { peakRssKb } from './process-memory.ts';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '30' },
    'baseline-seconds': { type: 'string', default: '10' },
    'sweep-seconds': { type: 'string', default: '5' },
    'no-sweep': { type: 'boolean', default: false },
    workers: { type: 'string' },
  },
});
const seconds = Number(args.seconds);
const config = loadConfigOrExit();
const renames = generatorTopicsWithSuffix('bench');
const topicFor = (topic: string) => renames[topic] ?? topic;
const topicSuffix = topicFor(Topics.transactions.name).slice(Topics.transactions.name.length);
const workers = args.workers === undefined ? defaultWorkers('max') : Number(args.workers);

/** The flags of `lambdamart generate` that the sweep tries (4 requests in flight: the CLI's default). */
interface Setting {
  batchSize: number;
  producers: number;
  compression: ProducerCompression;
}

type Run = GeneratorSummary & { rssMb: number };

/**
 * `lambdamart generate` for `durationMs` at --rate max (live mode: event time runs ahead of the
 * clock), in a process of its own: its summary and its peak RSS, read until it exits.
 */
async function runSetting(setting: Setting, workerCount: number, durationMs: number, seed: number): Promise<Run> {
  const child = spawnCli(
    [
      'generate',
      '--rate=max',
      `--duration=${durationMs / 1000}s`,
      `--seed=${seed}`,
      `--workers=${workerCount}`,
      `--producers=${setting.producers}`,
      `--batch-size=${setting.batchSize}`,
      `--compression=${setting.compression}`,
      `--topic-suffix=${topicSuffix}`,
      '--json',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'warn' } },
  );
  const output = collectOutput(child);
  let rssMb = 0;
  const sample = setInterval(() => {
    rssMb = Math.max(rssMb, (peakRssKb(child.pid) * 1024) / 1e6);
  }, 200);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearInterval(sample);
  const line = output.stdout.trim().split('\n').pop() ?? '';
  if (code !== 0 || !line.startsWith('{'))
    throw new Error(`lambdamart generate exited with ${code}: ${output.stderr.trim().split('\n').slice(-5).join(' | ')}`);
  return { ...(JSON.parse(line) as GeneratorSummary), rssMb: Math.round(rssMb) };
}

/** The naive loop: one message per send(), each awaited before the next. */
async function runBaseline(durationMs: number): Promise<{ sent: number; bytes: number; elapsedMs: number }> {
  const producer: EventProducer = createEventProducer({
    ...config.kafka,
    clientId: 'lambdamart-bench-generate',
    idempotent: true,
    compression: 'none',
  });
  await producer.connect();
  try {
    const started = performance.now();
    let sent = 0;
    let bytes = 0;
    for (const event of generateEvents({ seed: 7, eventsPerSecond: MaxRateEventTimeRate })) {
      if (performance.now() - started >= durationMs) break;
      const value = serializeEvent(event);
      await producer.send(topicFor(event.topic), [{ key: event.key, value }]);
      sent++;
      bytes += value.length;
    }
    return { sent, bytes, elapsedMs: performance.now() - started };
  } finally {
    await producer.disconnect();
  }
}

const rows: string[][] = [];
const mb = (bytes: number, ms: number) => bytes / 1e6 / (ms / 1000);
const row = (what: string, s: { sent: number; bytes: number; elapsedMs: number; rssMb?: number }) => {
  rows.push([
    what,
    String(s.sent),
    (s.elapsedMs / 1000).toFixed(1),
    Math.round(s.sent / (s.elapsedMs / 1000)).toString(),
    mb(s.bytes, s.elapsedMs).toFixed(1),
    s.rssMb === undefined ? '-' : String(s.rssMb),
  ]);
};
const runs: Run[] = [];

await createTestTopics(config, Object.values(renames));
try {
  const baseline = await runBaseline(Number(args['baseline-seconds']) * 1000);
  row('baseline: one awaited send() per event', baseline);
  const baselineRate = baseline.sent / (baseline.elapsedMs / 1000);

  let best: Setting = { batchSize: 5000, producers: 2, compression: 'none' };
  if (!args['no-sweep']) {
    const sweep: Setting[] = [
      { batchSize: 5000, producers: 1, compression: 'none' },
      { batchSize: 5000, producers: 2, compression: 'none' },
      { batchSize: 10000, producers: 2, compression: 'none' },
    ];
    let bestRate = 0;
    for (const [i, setting] of sweep.entries()) {
      const summary = await runSetting(setting, workers, Number(args['sweep-seconds']) * 1000, 100 + i);
      runs.push(summary);
      row(`sweep: ${workers} workers, batch ${setting.batchSize}, ${setting.producers} producer(s) per worker`, summary);
      if (summary.eventsPerSecond > bestRate) {
        bestRate = summary.eventsPerSecond;
        best = setting;
      }
    }
  }
  const setting = `batch ${best.batchSize}, ${best.producers} producer(s) per worker, ${best.compression}`;
  const single = await runSetting(best, 1, seconds * 1000, 41);
  row(`generator ${seconds}s, --workers 1: ${setting}`, single);
  const main = await runSetting(best, workers, seconds * 1000, 42);
  runs.push(single, main);
  row(`generator ${seconds}s, --workers ${workers}${args.workers === undefined ? ' (default)' : ''}: ${setting}`, main);

  const head = ['run', 'events', 's', 'events/s', 'MB/s', 'RSS MB'];
  const widths = head.map((_, i) => Math.max(...[head, ...rows].map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ');
  process.stdout.write(`${line(head)}\n${rows.map(line).join('\n')}\n`);
  const value = Math.round(main.eventsPerSecond);
  process.stdout.write(
    `${JSON.stringify({
      bench: 'generate',
      value,
      unit: 'events/s',
      baseline: Math.round(baselineRate),
      ratio: Number((value / baselineRate).toFixed(1)),
      rss_mb: main.rssMb,
      rss_mb_workers_1: single.rssMb,
      rss_mb_max: Math.max(...runs.map((r) => r.rssMb)),
      mb_per_s: Number(mb(main.bytes, main.elapsedMs).toFixed(1)),
      seconds: Number((main.elapsedMs / 1000).toFixed(1)),
      events: main.sent,
      target: 100_000,
      workers,
      cores: availableParallelism(),
      workers_1: Math.round(single.eventsPerSecond),
      workers_gain: Number((main.eventsPerSecond / single.eventsPerSecond).toFixed(2)),
      setting: best,
    })}\n`,
  );
} finally {
  await deleteTestTopics(config, Object.values(renames));
}
