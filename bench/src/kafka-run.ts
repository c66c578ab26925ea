/**
 * One phase of bench:kafka in a process of its own, so that each client's RSS and heap are its
 * own: `--client kafkajs|platformatic --phase produce|consume`. Prints one JSON line
 * (PhaseResult) on stdout. Started by bench/src/kafka.ts; not meant to be run by hand.
 */
import { readFileSync } from 'node:fs';
import { inspect, parseArgs } from 'node:util';
import { createKafka, loadConfigOrExit } from '@lambdamart/core';
import {
  compatibilityPartitioner,
  Consumer as PlatformaticConsumer,
  Producer as PlatformaticProducer,
  stringDeserializers,
  stringSerializers,
} from '@platformatic/kafka';
import { CompressionTypes, Partitioners } from 'kafkajs';
import { buildWorkload, chunks, pipelined, type WorkloadMessage } from './kafka-workload.ts';

export type ClientName = 'kafkajs' | 'platformatic';
export type Phase = 'produce' | 'consume';
export type BenchCompression = 'snappy' | 'none';

export interface PhaseResult {
  client: ClientName;
  phase: Phase;
  messages: number;
  bytes: number;
  /** From the first request (produce) or from joining the group (consume) to the last ack or message. */
  seconds: number;
  /** Consume only: from the call that subscribes to having joined the group (not in `seconds`). */
  joinSeconds?: number;
  peakRssMb: number;
  /** RSS just before the phase began (the workload is already in memory). */
  startRssMb: number;
  loadAverage: number;
}

const { values: args } = parseArgs({
  options: {
    client: { type: 'string' },
    phase: { type: 'string' },
    topics: { type: 'string' },
    events: { type: 'string' },
    seed: { type: 'string', default: '42' },
    compression: { type: 'string', default: 'snappy' },
    headers: { type: 'boolean', default: true },
    'batch-size': { type: 'string', default: '5000' },
    'in-flight': { type: 'string', default: '1' },
  },
});
const client = args.client as ClientName;
const phase = args.phase as Phase;
const compression = args.compression as BenchCompression;
// topics: "original=renamed,original=renamed" (the generator's topic names to this run's).
const renames = Object.fromEntries((args.topics ?? '').split(',').map((pair) => pair.split('=') as [string, string]));
const config = loadConfigOrExit({ ...process.env, LOG_LEVEL: 'warn' });
const events = Number(args.events);
const batchSize = Number(args['batch-size']);
const inFlight = Number(args['in-flight']);

const loadAverage = () => Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
const rssMb = () => process.memoryUsage.rss() / 1024 / 1024;

// Never the real topics: every topic the generator writes must be renamed to one of this run's.
const topicFor = (topic: string) => {
  const renamed = renames[topic];
  if (!renamed || renamed === topic) throw new Error(`--topics gives no bench topic for ${topic}; refusing to write to it`);
  return renamed;
};
const workload = buildWorkload({ events, seed: Number(args.seed), topicFor, headers: args.headers });
const topics = [...new Set(workload.messages.map((m) => m.topic))];
const startRssMb = rssMb();
let peakRssMb = startRssMb;
const sampler = setInterval(() => {
  peakRssMb = Math.max(peakRssMb, rssMb());
}, 100);

async function produceKafkajs(batches: WorkloadMessage[][]): Promise<number> {
  const kafka = createKafka({ ...config.kafka, clientId: 'lambdamart-bench-kafka' });
  // What core's kafkajs producer built before issue 14 (idempotent, Java-compatible partitioner), with snappy.
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  const codec = compression === 'snappy' ? CompressionTypes.Snappy : CompressionTypes.None;
  try {
    const started = performance.now();
    await pipelined(batches, inFlight, (batch) => {
      const byTopic = new Map<string, { key: string; value: string; headers: Record<string, string> }[]>();
      for (const m of batch) {
        let list = byTopic.get(m.topic);
        if (!list) {
          list = [];
          byTopic.set(m.topic, list);
        }
        list.push({ key: m.key, value: m.value, headers: m.headers });
      }
      return producer.sendBatch({
        acks: -1,
        compression: codec,
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      });
    });
    return (performance.now() - started) / 1000;
  } finally {
    await producer.disconnect();
  }
}

async function producePlatformatic(batches: WorkloadMessage[][]): Promise<number> {
  const producer = new PlatformaticProducer({
    clientId: 'lambdamart-bench-kafka',
    bootstrapBrokers: config.kafka.brokers,
    idempotent: true,
    // murmur2 & 0x7fffffff, as Java and kafkajs's DefaultPartitioner: a user's events stay on the
    // same partition whichever client sent them (the library's default partitioner differs).
    partitioner: compatibilityPartitioner,
    serializers: stringSerializers,
    compression,
    autocreateTopics: false,
  });
  try {
    const started = performance.now();
    await pipelined(batches, inFlight, (batch) => producer.send({ messages: batch }));
    return (performance.now() - started) / 1000;
  } finally {
    await producer.close();
  }
}

/** Touches what a saver reads of every message: key, value and headers. */
function touch(key: unknown, value: unknown, headerCount: number): number {
  return (key ? 1 : 0) + (value ? 1 : 0) + headerCount;
}

/** What both consumers time: from the call to the group join (or the first message), and from there to the last of `events`. */
class ConsumeClock {
  private readonly called = performance.now();
  private joined = 0;
  private first = 0;
  private last = 0;
  private received = 0;
  private touched = 0;

  join(): void {
    this.joined = performance.now();
  }

  /** Counts `count` messages that touched `touched`; true when they bring the count to `events`. */
  receive(count: number, touched: number): boolean {
    if (this.first === 0) this.first = performance.now();
    this.touched += touched;
    const before = this.received;
    this.received += count;
    if (before >= events || this.received < events) return false;
    this.last = performance.now();
    return true;
  }

  result(client: string): { seconds: number; joinSeconds: number } {
    if (this.touched === 0) throw new Error(`${client} consumed nothing`);
    const start = this.joined || this.first;
    return { seconds: (this.last - start) / 1000, joinSeconds: (start - this.called) / 1000 };
  }
}

async function consumeKafkajs(): Promise<{ seconds: number; joinSeconds: number }> {
  const kafka = createKafka({ ...config.kafka, clientId: 'lambdamart-bench-kafka' });
  // The savers' fetch settings (speed-layer/src/saver/consumer-supervisor.ts).
  const consumer = kafka.consumer({
    groupId: `bench-kafka-kafkajs-${Date.now()}`,
    sessionTimeout: 10_000,
    heartbeatInterval: 3_000,
    maxBytesPerPartition: 1024 * 1024,
    maxBytes: 8 * 1024 * 1024,
    maxWaitTimeInMs: 500,
  });
  const clock = new ConsumeClock();
  let done: () => void = () => undefined;
  const finished = new Promise<void>((r) => {
    done = r;
  });
  consumer.on(consumer.events.GROUP_JOIN, () => clock.join());
  await consumer.connect();
  try {
    await consumer.subscribe({ topics, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: 4, // the savers' concurrency
      eachBatch: async ({ batch }) => {
        let touched = 0;
        for (const m of batch.messages) touched += touch(m.key, m.value, Object.keys(m.headers ?? {}).length);
        if (clock.receive(batch.messages.length, touched)) done();
      },
    });
    await finished;
  } finally {
    await consumer.disconnect();
  }
  return clock.result('kafkajs');
}

async function consumePlatformatic(): Promise<{ seconds: number; joinSeconds: number }> {
  const consumer = new PlatformaticConsumer({
    clientId: 'lambdamart-bench-kafka',
    bootstrapBrokers: config.kafka.brokers,
    groupId: `bench-kafka-platformatic-${Date.now()}`,
    deserializers: stringDeserializers,
    sessionTimeout: 10_000,
    heartbeatInterval: 3_000,
    maxBytesPerPartition: 1024 * 1024,
    maxBytes: 8 * 1024 * 1024,
    maxWaitTime: 500,
  });
  const clock = new ConsumeClock();
  consumer.on('consumer:group:join', () => clock.join());
  try {
    const stream = await consumer.consume({ topics, mode: 'earliest', autocommit: false });
    await new Promise<void>((resolve, reject) => {
      stream.on('error', reject);
      stream.on('data', (m) => {
        if (clock.receive(1, touch(m.key, m.value, m.headers.size))) resolve();
      });
    });
    await stream.close();
  } finally {
    await consumer.close(true);
  }
  return clock.result('@platformatic/kafka');
}

try {
  let seconds: number;
  let joinSeconds: number | undefined;
  if (phase === 'produce') {
    const batches = chunks(workload.messages, batchSize);
    seconds = client === 'kafkajs' ? await produceKafkajs(batches) : await producePlatformatic(batches);
  } else {
    ({ seconds, joinSeconds } = client === 'kafkajs' ? await consumeKafkajs() : await consumePlatformatic());
  }
  clearInterval(sampler);
  peakRssMb = Math.max(peakRssMb, rssMb());
  const result: PhaseResult = {
    client,
    phase,
    messages: workload.messages.length,
    bytes: workload.bytes,
    seconds,
    ...(joinSeconds === undefined ? {} : { joinSeconds }),
    peakRssMb,
    startRssMb,
    loadAverage: loadAverage(),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
} catch (error) {
  const causes =
    error instanceof AggregateError
      ? error.errors
          .map(
            (e) => `
  caused by: ${inspect(e, { depth: 6 })}`,
          )
          .join('')
      : '';
  process.stderr.write(`[bench:kafka ${client} ${phase}] ${error instanceof Error ? error.message : String(error)}${causes}\n`);
  process.exit(1);
}
