/** Topics of their own for tests and benchmarks, so they never write into the real topics. */
import { randomBytes } from 'node:crypto';
import { type Config, createKafka, Topics } from '@lambdamart/core';

export type TopicRenames = Record<string, string>;

/** The four topics the generator writes, each renamed `<name>.<label>-<random>`. */
export function generatorTopicsWithSuffix(label: string): TopicRenames {
  const suffix = `.${label}-${randomBytes(4).toString('hex')}`;
  const names = [Topics.transactions.name, Topics.productViews.name, Topics.cartEvents.name, Topics.productCatalog.name];
  return Object.fromEntries(names.map((name) => [name, `${name}${suffix}`]));
}

export async function createTopics(config: Config, renames: TopicRenames, partitions = 3): Promise<void> {
  const admin = createKafka({ ...config.kafka, clientId: 'lambdamart-generator-test' }).admin();
  await admin.connect();
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: Object.values(renames).map((topic) => ({ topic, numPartitions: partitions, replicationFactor: 1 })),
    });
  } finally {
    await admin.disconnect();
  }
}

export async function deleteTopics(config: Config, renames: TopicRenames): Promise<void> {
  const admin = createKafka({ ...config.kafka, clientId: 'lambdamart-generator-test' }).admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics: Object.values(renames), timeout: 10_000 }).catch(() => undefined);
  } finally {
    await admin.disconnect();
  }
}

/** Messages in a topic: the sum over partitions of (high watermark - low watermark). */
export async function countMessages(config: Config, topic: string): Promise<number> {
  const admin = createKafka({ ...config.kafka, clientId: 'lambdamart-generator-test' }).admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
  } finally {
    await admin.disconnect();
  }
}
