/**
 * `KAFKA_NODES=3 infra/kafka/kafka.sh start`: three KRaft brokers on loopback that survive the loss
 * of one. Starts its own cluster on ports of its own (39092..39097) in a temporary data dir, never
 * the shared broker. Slow (about a minute: three JVMs start), so `npm test` does not run it (the
 * file is not named *.test.ts); run it with `npm run test:kafka-cluster`.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { createEventProducer, createKafka } from '@lambdamart/core';

const run = promisify(execFile);
const script = resolve(import.meta.dirname, 'kafka.sh');
const dataDir = mkdtempSync(join(tmpdir(), 'lambdamart-kafka3-'));
const env = {
  ...process.env,
  KAFKA_NODES: '3',
  KAFKA_PORT: process.env.CLUSTER_TEST_PORT ?? '39092',
  KAFKA_CONTROLLER_PORT: process.env.CLUSTER_TEST_CONTROLLER_PORT ?? '39093',
  LAMBDAMART_DATA_DIR: dataDir,
};
const base = Number(env.KAFKA_PORT);
const brokers = [0, 1, 2].map((i) => `127.0.0.1:${base + 2 * i}`);
const kafka = createKafka({ brokers, clientId: 'lambdamart-cluster-test' });
const topic = 'cluster-test';

const kafkaSh = (...args: string[]) => run('bash', [script, ...args], { env, timeout: 180_000 });

/** Everything in the topic, read by a fresh group. */
async function readAll(expected: number): Promise<string[]> {
  const consumer = kafka.consumer({ groupId: `cluster-test-${Date.now()}` });
  const values: string[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void values.push(String(message.value)) });
    const until = Date.now() + 60_000;
    while (values.length < expected && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
  } finally {
    await consumer.disconnect();
  }
  return values.sort();
}

describe('a three-broker cluster from infra/kafka (KAFKA_NODES=3)', { timeout: 300_000 }, () => {
  before(async () => {
    await kafkaSh('start');
  });
  after(async () => {
    if (!process.env.KEEP_CLUSTER)
      await kafkaSh('stop').catch((error) => process.stderr.write(`stopping the test cluster failed: ${error}\n`));
    if (!process.env.KEEP_CLUSTER) rmSync(dataDir, { recursive: true, force: true });
  });

  it('every node answers; a topic with replication factor 3 keeps every acknowledged event when a broker is killed', async () => {
    const { stdout } = await kafkaSh('status');
    assert.equal(
      stdout
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('kafka: running')).length,
      3,
      stdout,
    );

    const admin = kafka.admin();
    await admin.connect();
    try {
      // Not waitForLeaders: kafkajs then asks one broker, which may not know the topic yet and
      // throws UNKNOWN_TOPIC_OR_PARTITION; the loop below waits instead.
      await admin.createTopics({
        waitForLeaders: false,
        topics: [{ topic, numPartitions: 3, replicationFactor: 3, configEntries: [{ name: 'min.insync.replicas', value: '2' }] }],
      });
      // The new topic reaches the brokers' metadata one by one: ask until the one asked knows it.
      let partitions: { partitionId: number; replicas: number[] }[] = [];
      for (const until = Date.now() + 30_000; partitions.length < 3 && Date.now() < until; ) {
        partitions = await admin
          .fetchTopicMetadata({ topics: [topic] })
          .then((m) => m.topics[0]?.partitions ?? [])
          .catch(() => []);
        if (partitions.length < 3) await new Promise((r) => setTimeout(r, 200));
      }
      assert.equal(partitions.length, 3);
      for (const p of partitions) assert.equal(p.replicas.length, 3, `partition ${p.partitionId} has three replicas`);
    } finally {
      await admin.disconnect();
    }

    // The platform's producer (idempotent, acks=all): it retries past the killed broker without a duplicate.
    const producer = createEventProducer({ brokers, clientId: 'lambdamart-cluster-test', idempotent: true, compression: 'gzip' });
    await producer.connect();
    const send = (from: number, count: number) =>
      producer.send(
        topic,
        Array.from({ length: count }, (_, i) => ({
          key: `user-${(from + i) % 17}`,
          value: `event-${String(from + i).padStart(4, '0')}`,
        })),
      );
    try {
      await send(0, 300);
      // Kill -9 the second broker (its pid file names the JVM kafka.sh started).
      const pid = Number(readFileSync(join(dataDir, 'kafka', 'node-2', 'kafka.pid'), 'utf8').trim());
      assert.ok(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes('kafka.Kafka'), 'the pid file names a broker');
      process.kill(pid, 'SIGKILL');
      const { stdout: after } = await kafkaSh('status').catch((e: { stdout: string }) => ({ stdout: e.stdout }));
      assert.match(after, /kafka: not running/, 'node 2 is down');
      // Two of three in sync: acks=all still succeeds, and everything is still readable.
      await send(300, 100);
    } finally {
      await producer.disconnect();
    }
    const values = await readAll(400);
    assert.equal(values.length, 400, 'every acknowledged event is read with one broker down');
    assert.deepEqual(
      values,
      Array.from({ length: 400 }, (_, i) => `event-${String(i).padStart(4, '0')}`),
    );
  });
});
