import { allTopics, type Config, createKafka, LambdamartError, type TopicSpec } from '@lambdamart/core';

export interface TopicState {
  name: string;
  expectedPartitions: number;
  partitions: number | null;
}

/** Creates the topics of DESIGN.md that are missing; never touches one that exists. */
export async function ensureTopics(config: Config, topics: readonly TopicSpec[] = allTopics): Promise<string[]> {
  const admin = createKafka({ ...config.kafka, clientId: 'lambdamart-stack' }).admin();
  try {
    await admin.connect();
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.name));
    if (missing.length > 0) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((t) => ({
          topic: t.name,
          numPartitions: t.partitions,
          replicationFactor: 1,
          configEntries: Object.entries(t.config).map(([name, value]) => ({ name, value })),
        })),
      });
    }
    return missing.map((t) => t.name);
  } catch (error) {
    throw kafkaUnreachable(config, error);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

export async function describeTopics(config: Config, topics: readonly TopicSpec[] = allTopics): Promise<TopicState[]> {
  const admin = createKafka({ ...config.kafka, clientId: 'lambdamart-stack', retry: { retries: 1 } }).admin();
  try {
    await admin.connect();
    const existing = new Set(await admin.listTopics());
    const present = topics.filter((t) => existing.has(t.name)).map((t) => t.name);
    const metadata = present.length ? await admin.fetchTopicMetadata({ topics: present }) : { topics: [] };
    const partitions = new Map(metadata.topics.map((t) => [t.name, t.partitions.length]));
    return topics.map((t) => ({ name: t.name, expectedPartitions: t.partitions, partitions: partitions.get(t.name) ?? null }));
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

export function kafkaUnreachable(config: Config, cause: unknown): LambdamartError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new LambdamartError('LM_ERR_KAFKA_UNREACHABLE', `Kafka at ${config.kafka.brokers.join(',')} did not answer: ${reason}`, {
    hint: 'start it with `lambdamart stack up`, or check KAFKA_BROKERS',
    cause,
  });
}
