/**
 * `npm run bench:generate`: generated events into the local broker, against a baseline measured
 * in the same run (one awaited send() per event, the naive producer loop). Writes to bench topics
 * of its own (created here, deleted at the end). A short sweep first shows how batch size,
 * producers side by side and compression change the rate; the best setting then runs for 30 s.
 *
 *   flock /tmp/lambdamart-bench.lock npm run bench:generate [-- --seconds 30 --no-sweep]
 */
import { parseArgs } from 'node:util';
import { createEventProducer, type EventProducer, loadConfigOrExit, type ProducerCompression } from '@lambdamart/core';
import { type GeneratorSummary, generateEvents, kafkaSink, MaxRateEventTimeRate, sendEvents, serializeEvent } from '@lambdamart/generators';
import { generatorTopicsWithSuffix } from '@lambdamart/generators/testing';
import { createTestTopics, deleteTestTopics } from '@lambdamart/test-helpers';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '30' },
    'baseline-seconds': { type: 'string', default: '10' },
    'sweep-seconds': { type: 'string', default: '5' },
    'no-sweep': { type: 'boolean', default: false },
  },
});
const seconds = Number(args.seconds);
const config = loadConfigOrExit();
const renames = generatorTopicsWithSuffix('bench');
const topicFor = (topic: string) => renames[topic] ?? topic;
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

const events = (seed: number) => generateEvents({ seed, eventsPerSecond: MaxRateEventTimeRate });

async function withProducers<T>(count: number, compression: ProducerCompression, use: (producers: EventProducer[]) => Promise<T>) {
  const producers = Array.from({ length: count }, () =>
    createEventProducer({ ...config.kafka, clientId: 'lambdamart-bench-generate', idempotent: true, compression }),
  );
  await Promise.all(producers.map((p) => p.connect()));
  try {
    return await use(producers);
  } finally {
    await Promise.all(producers.map((p) => p.disconnect()));
  }
}

async function runSetting(setting: Setting, durationMs: number, seed: number): Promise<GeneratorSummary> {
  return withProducers(setting.producers, setting.compression, (producers) =>
    sendEvents(kafkaSink(producers, { topicFor }), events(seed), {
      rate: 'max',
      durationMs,
      batchSize: setting.batchSize,
      maxInFlight: setting.maxInFlight,
    }),
  );
}

/** The naive loop: one message per send(), each awaited before the next. */
async function runBaseline(durationMs: number): Promise<{ sent: number; bytes: number; elapsedMs: number }> {
  return withProducers(1, 'none', async ([producer]) => {
    const started = performance.now();
    let sent = 0;
    let bytes = 0;
    for (const event of events(7)) {
      if (performance.now() - started >= durationMs) break;
      const value = serializeEvent(event);
      await (producer as EventProducer).send(topicFor(event.topic), [{ key: event.key, value }]);
      sent++;
      bytes += value.length;
    }
    return { sent, bytes, elapsedMs: performance.now() - started };
  });
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
      { batchSize: 1000, producers: 1, maxInFlight: 4, compression: 'none' },
      { batchSize: 5000, producers: 1, maxInFlight: 4, compression: 'none' },
      { batchSize: 10000, producers: 1, maxInFlight: 4, compression: 'none' },
      { batchSize: 5000, producers: 2, maxInFlight: 4, compression: 'none' },
      { batchSize: 10000, producers: 3, maxInFlight: 4, compression: 'none' },
      { batchSize: 5000, producers: 2, maxInFlight: 4, compression: 'gzip' },
    ];
    let bestRate = 0;
    for (const [i, setting] of sweep.entries()) {
      const summary = await runSetting(setting, Number(args['sweep-seconds']) * 1000, 100 + i);
      row(
        `sweep: batch ${setting.batchSize}, ${setting.producers} producer(s), ${setting.maxInFlight} in flight, ${setting.compression}`,
        summary,
      );
      if (summary.eventsPerSecond > bestRate) {
        bestRate = summary.eventsPerSecond;
        best = setting;
      }
    }
  }
  const main = await runSetting(best, seconds * 1000, 42);
  const label = `generator ${seconds}s: batch ${best.batchSize}, ${best.producers} producer(s), ${best.maxInFlight} in flight, ${best.compression}`;
  row(label, main);

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
      setting: best,
    })}\n`,
  );
} finally {
  clearInterval(sampleRss);
  await deleteTestTopics(config, Object.values(renames));
}
