/**
 * createEventProducer (over @platformatic/kafka) against the real broker, read back with kafkajs
 * (what the savers run): the same keys, values, headers and partitions as kafkajs's own idempotent
 * producer with its Java-compatible partitioner (what the platform produced with before), several
 * sends at once on the idempotent producer all acknowledged (1.x alone refuses the second one in
 * flight), and a Kafka that is down is one LM_ERR_KAFKA_UNREACHABLE within seconds.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import kafkajs from 'kafkajs';
import { loadConfig } from './config.ts';
import { LambdamartError } from './errors.ts';
import { createKafka } from './kafka.ts';
import { createEventProducer, type EventProducer, type OutgoingMessage } from './producer.ts';

// kafkajs is CommonJS; Node's named-export detection misses these.
const { CompressionTypes, Partitioners } = kafkajs;

const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn' });
const suffix = randomBytes(4).toString('hex');
const viaPlatformatic = `lm-core-producer.${suffix}-plt`;
const viaKafkajs = `lm-core-producer.${suffix}-kjs`;
const kafka = createKafka({ ...config.kafka, clientId: 'lambdamart-test' });

interface Read {
  partition: number;
  key: string;
  value: string;
  headers: Record<string, string>;
}

async function readAll(topics: string[], expected: number): Promise<Map<string, Read[]>> {
  const consumer = kafka.consumer({ groupId: `lm-core-producer-${suffix}-${Date.now()}` });
  const read = new Map<string, Read[]>(topics.map((t) => [t, []]));
  let count = 0;
  await consumer.connect();
  try {
    await consumer.subscribe({ topics, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic, partition, message }) => {
        const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]));
        read.get(topic)?.push({ partition, key: String(message.key), value: String(message.value), headers });
        count++;
      },
    });
    const until = Date.now() + 30_000;
    while (count < expected && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  } finally {
    await consumer.disconnect();
  }
  return read;
}

/** What the platform produced with before: kafkajs's idempotent producer, Java-compatible partitioner, acks=all. */
function kafkajsProducer(): EventProducer {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
  const send = (topic: string, messages: OutgoingMessage[]) =>
    producer.send({ topic, acks: -1, compression: CompressionTypes.GZIP, messages }).then(() => undefined);
  return {
    connect: () => producer.connect(),
    send,
    sendBatch: async (batch) => {
      for (const { topic, messages } of batch) await send(topic, messages);
    },
    disconnect: () => producer.disconnect(),
  };
}

async function sendAll(producer: EventProducer, topic: string, messages: OutgoingMessage[]): Promise<void> {
  await producer.connect();
  try {
    // Five requests at once, the last one across two topics' worth of calls (send and sendBatch).
    const parts = [0, 1, 2, 3, 4].map((i) => messages.slice(i * 60, (i + 1) * 60));
    await Promise.all([
      ...parts.slice(0, 4).map((part) => producer.send(topic, part)),
      producer.sendBatch([{ topic, messages: parts[4] ?? [] }]),
    ]);
  } finally {
    await producer.disconnect();
  }
}

describe('createEventProducer (core EventProducer over @platformatic/kafka)', { timeout: 60_000 }, () => {
  before(async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      waitForLeaders: true,
      topics: [viaPlatformatic, viaKafkajs].map((topic) => ({ topic, numPartitions: 3, replicationFactor: 1 })),
    });
    await admin.disconnect();
  });
  after(async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [viaPlatformatic, viaKafkajs] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('writes what the kafkajs producer writes (keys, values, headers, partitions), five idempotent requests at once, gzip', async () => {
    const messages: OutgoingMessage[] = Array.from({ length: 300 }, (_, i) => ({
      key: `user-${i % 23}`,
      // Strings and Buffers; in the first two requests some strings have multi-byte characters
      // (encoded one by one), in the others none (a request's strings encoded at once).
      value:
        i % 2 ? JSON.stringify({ n: i, ...(i < 120 && i % 3 === 0 ? { name: 'café ☕' } : {}) }) : Buffer.from(JSON.stringify({ n: i })),
      headers: { 'lm-source-offset': String(i), 'lm-reason': 'test' },
    }));
    await sendAll(
      createEventProducer({ ...config.kafka, clientId: 'lambdamart-test', idempotent: true, compression: 'gzip' }),
      viaPlatformatic,
      messages,
    );
    await sendAll(kafkajsProducer(), viaKafkajs, messages);

    const read = await readAll([viaPlatformatic, viaKafkajs], 600);
    const ordered = (rows: Read[]) =>
      [...rows].sort((a, b) => Number(a.headers['lm-source-offset']) - Number(b.headers['lm-source-offset']));
    const mine = ordered(read.get(viaPlatformatic) ?? []);
    const theirs = ordered(read.get(viaKafkajs) ?? []);
    assert.equal(mine.length, 300, 'every message once');
    assert.deepEqual(mine, theirs, 'same keys, values, headers and partitions as the kafkajs producer');
    assert.equal(new Set(mine.map((r) => r.partition)).size, 3);
  });

  it('fails to connect with a clear error when no broker answers, idempotent or not, within seconds', async () => {
    for (const idempotent of [true, false]) {
      const producer = createEventProducer({ brokers: ['127.0.0.1:1'], clientId: 'lambdamart-test', retries: 0, idempotent });
      const started = Date.now();
      await assert.rejects(producer.connect(), (error: unknown) => {
        assert.ok(error instanceof LambdamartError);
        assert.equal(error.code, 'LM_ERR_KAFKA_UNREACHABLE');
        assert.match(
          error.oneLine(),
          /^Kafka at 127\.0\.0\.1:1 did not answer: .+ \(start it with `lambdamart stack up`, or check KAFKA_BROKERS\)$/,
        );
        assert.doesNotMatch(error.oneLine(), /\n/);
        return true;
      });
      assert.ok(Date.now() - started < 15_000, 'within seconds');
      await producer.disconnect();
    }
  });
});
