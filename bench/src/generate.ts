/**
 * `npm run bench:generate`: generated events into the local broker, against a baseline measured
 * in the same run (one awaited send() per event, the naive producer loop). Writes to bench topics
 * of its own (created here, deleted at the end). The generator runs as `lambdamart generate` does
 * (runGenerator: worker threads, each making, encoding and sending its shards): a short sweep
 * of batch size and producers per worker with the default workers, then the best setting for
 * --seconds with --workers 1 and with the default, so the gain of the workers shows.
 *
 *   flock /work/wt/bench.lock npm run bench:generate [-- --seconds 30 --no-sweep --workers N]
 */
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { createEventProducer, createLogger, type EventProducer, loadConfigOrExit, type ProducerCompression } from '@lambdamart/core';
import {
  defaultWorkers,
  type GeneratorSummary,
  generateEvents,
  MaxRateEventTimeRate,
  runGenerator,
  serializeEvent,
} from '@lambdamart/generators';
import { generatorTopicsWithSuffix } from '@lambdamart/generators/testing';
import { createTestTopics, deleteTestTopics } from '@lambdamart/test-helpers';

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
const workers = args.workers === undefined ? defaultWorkers('max') : Number(args.workers);
let peakRss = 0;
const sampleRss = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 200);

interface Setting {
  batchSize: number;
  producers: number;
  maxInFlight: number;
  compression: ProducerCompression;
}

/** The generator as the CLI runs it, for `durationMs`, at --rate max (live mode: event time runs ahead of the clock). */
function runSetting(setting: Setting, workerCount: number, durationMs: number, seed: number): Promise<GeneratorSummary> {
  return runGenerator(
    config,
    { rate: 'max', durationMs, seed, workers: workerCount, ...setting, topicFor, logger: createLogger('generator', 'warn') },
    new AbortController().signal,
  );
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
const row = (what: string, s: { sent: number; bytes: number; elapsedMs: number }) => {
  rows.push([
    what,
    String(s.sent),
    (s.elapsedMs / 1000).toFixed(1),
    Math.round(s.sent / (s.elapsedMs / 1000)).toString(),
    mb(s.bytes, s.elapsedMs).toFixed(1),
  ]);
};

await createTestTopics(config, Object.values(renames));
try {
  const baseline = await runBaseline(Number(args['baseline-seconds']) * 1000);
  row('baseline: one awaited send() per event', baseline);
  const baselineRate = baseline.sent / (baseline.elapsedMs / 1000);

  let best: Setting = { batchSize: 5000, producers: 2, maxInFlight: 4, compression: 'none' };
  if (!args['no-sweep']) {
    const sweep: Setting[] = [
      { batchSize: 5000, producers: 1, maxInFlight: 4, compression: 'none' },
      { batchSize: 5000, producers: 2, maxInFlight: 4, compression: 'none' },
      { batchSize: 10000, producers: 2, maxInFlight: 4, compression: 'none' },
    ];
    let bestRate = 0;
    for (const [i, setting] of sweep.entries()) {
      const summary = await runSetting(setting, workers, Number(args['sweep-seconds']) * 1000, 100 + i);
      row(`sweep: ${workers} workers, batch ${setting.batchSize}, ${setting.producers} producer(s) per worker`, summary);
      if (summary.eventsPerSecond > bestRate) {
        bestRate = summary.eventsPerSecond;
        best = setting;
      }
    }
  }
  const setting = `batch ${best.batchSize}, ${best.producers} producer(s) per worker, ${best.maxInFlight} in flight, ${best.compression}`;
  const single = await runSetting(best, 1, seconds * 1000, 41);
  row(`generator ${seconds}s, --workers 1: ${setting}`, single);
  const main = await runSetting(best, workers, seconds * 1000, 42);
  row(`generator ${seconds}s, --workers ${workers}${args.workers === undefined ? ' (default)' : ''}: ${setting}`, main);

  const widths = [0, 1, 2, 3, 4].map((i) =>
    Math.max(...[['run', 'events', 's', 'events/s', 'MB/s'], ...rows].map((r) => (r[i] ?? '').length)),
  );
  const line = (r: string[]) => r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ');
  process.stdout.write(`${line(['run', 'events', 's', 'events/s', 'MB/s'])}\n${rows.map(line).join('\n')}\n`);
  const value = Math.round(main.eventsPerSecond);
  clearInterval(sampleRss);
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  process.stdout.write(
    `${JSON.stringify({
      bench: 'generate',
      value,
      unit: 'events/s',
      baseline: Math.round(baselineRate),
      ratio: Number((value / baselineRate).toFixed(1)),
      rss_mb: Math.round(peakRss / 1e6),
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
  clearInterval(sampleRss);
  await deleteTestTopics(config, Object.values(renames));
}
