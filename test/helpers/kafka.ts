import { type Config, createKafka } from '@lambdamart/core';

/** Creates topics of a test's own (e.g. `transactions-topic.e2e-1a2b3c`), so tests never share one. */
export async function createTestTopics(config: Config, topics: readonly string[], partitions = 3): Promise<void> {
  const admin = createKafka({ ...config.kafka, clientId: 'lambdamart-test' }).admin();
  await admin.connect();
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: topics.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: 1 })),
    });
  } finally {
    await admin.disconnect();
  }
}

/** Deletes a test's topics; a topic already gone is not an error. */
export async function deleteTestTopics(config: Config, topics: readonly string[]): Promise<void> {
  const admin = createKafka({ ...config.kafka, clientId: 'lambdamart-test' }).admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics: [...topics], timeout: 10_000 }).catch(() => undefined);
  } finally {
    await admin.disconnect();
  }
}

/** Messages in a topic: the sum over partitions of (high watermark - low watermark). */
export async function countMessages(config: Config, topic: string): Promise<number> {
  const admin = createKafka({ ...config.kafka, clientId: 'lambdamart-test' }).admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
  } finally {
    await admin.disconnect();
  }
}
