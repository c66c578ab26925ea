/**
 * "The broker answers" is not "the broker is ready". Right after a cold start a KRaft broker
 * accepts connections while its partitions' leadership and the group coordinator (the
 * __consumer_offsets partitions) are still loading; clients then see "This server is not the leader
 * for that topic-partition" or "coordinator is loading". `stack up` waits here until one round
 * trip of each kind that the layers make succeeds, so that nothing downstream retries around it.
 */
import { type Config, createEventProducer, createKafka, LambdamartError, type TopicSpec } from '@lambdamart/core';
import type { Admin } from 'kafkajs';

/** A topic of the stack's own, one partition, where the probe writes one small message per check. */
export const readinessTopic = 'lambdamart-readiness';
const readinessGroup = 'lambdamart-readiness';

export interface ReadinessCheck {
  name: string;
  ok: boolean;
  detail: string;
}

/** Every partition of `topics` has a leader in the broker's metadata. */
async function leadersKnown(admin: Admin, topics: readonly string[]): Promise<ReadinessCheck> {
  const metadata = await admin.fetchTopicMetadata({ topics: [...topics] });
  const leaderless = metadata.topics.flatMap((t) =>
    t.partitions.filter((p) => p.leader < 0 || p.partitionErrorCode !== 0).map((p) => `${t.name}/${p.partitionId}`),
  );
  return {
    name: 'partition leaders',
    ok: leaderless.length === 0,
    detail: leaderless.length ? `no leader yet for ${leaderless.join(', ')}` : `${metadata.topics.length} topics led`,
  };
}

/** The group coordinator has loaded: an offset commit and fetch for a group of ours succeed. */
async function coordinatorLoaded(admin: Admin): Promise<ReadinessCheck> {
  await admin.setOffsets({ groupId: readinessGroup, topic: readinessTopic, partitions: [{ partition: 0, offset: '0' }] });
  const fetched = await admin.fetchOffsets({ groupId: readinessGroup, topics: [readinessTopic] });
  const offset = fetched[0]?.partitions[0]?.offset;
  return { name: 'group coordinator', ok: offset === '0', detail: offset === '0' ? 'offsets commit and fetch' : `fetched ${offset}` };
}

/** An idempotent, acks=all produce (what the generators and savers do) is acknowledged. */
async function produceAcknowledged(config: Config, timeoutMs: number): Promise<ReadinessCheck> {
  const producer = createEventProducer({
    ...config.kafka,
    clientId: 'lambdamart-stack',
    idempotent: true,
    connectTimeoutMs: 2_000,
    requestTimeoutMs: Math.min(5_000, timeoutMs),
  });
  await producer.connect();
  try {
    await producer.send(readinessTopic, [{ key: null, value: new Date().toISOString() }]);
  } finally {
    await producer.disconnect();
  }
  return { name: 'idempotent produce', ok: true, detail: 'acknowledged by all in-sync replicas' };
}

/**
 * Waits until the broker leads every partition of `topics`, its group coordinator has loaded and
 * an idempotent produce is acknowledged; throws with the last unmet check after `timeoutMs`.
 */
export async function waitForKafkaReady(config: Config, topics: readonly TopicSpec[], timeoutMs = 90_000): Promise<ReadinessCheck[]> {
  // Short retries and timeouts inside each call: this loop, not kafkajs, decides how long to wait.
  const kafka = createKafka({
    ...config.kafka,
    clientId: 'lambdamart-stack',
    retry: { retries: 2, initialRetryTime: 100 },
    connectionTimeout: 2_000,
    requestTimeout: Math.min(5_000, timeoutMs),
  });
  const admin = kafka.admin();
  const deadline = Date.now() + timeoutMs;
  let last = 'not checked yet';
  try {
    for (;;) {
      try {
        await admin.connect();
        if (!(await admin.listTopics()).includes(readinessTopic)) {
          await admin.createTopics({ waitForLeaders: true, topics: [{ topic: readinessTopic, numPartitions: 1, replicationFactor: 1 }] });
        }
        const checks: ReadinessCheck[] = [await leadersKnown(admin, [...topics.map((t) => t.name), readinessTopic])];
        if (checks.every((c) => c.ok)) checks.push(await coordinatorLoaded(admin));
        if (checks.every((c) => c.ok)) checks.push(await produceAcknowledged(config, timeoutMs));
        if (checks.every((c) => c.ok)) return checks;
        last = checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`)[0] ?? last;
      } catch (error) {
        last = error instanceof Error ? error.message : String(error);
      }
      if (Date.now() > deadline)
        throw new LambdamartError('LM_ERR_KAFKA_NOT_READY', `Kafka was not ready within ${Math.round(timeoutMs / 1000)} s (${last})`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
