import { type Config, createKafka, partitionBounds, withAdmin } from '@lambdamart/core';

function testKafka(config: Config) {
  return createKafka({ ...config.kafka, clientId: 'lambdamart-test' });
}

/** Creates topics of a test's own (e.g. `transactions-topic.e2e-1a2b3c`), so tests never share one. */
export async function createTestTopics(config: Config, topics: readonly string[], partitions = 3): Promise<void> {
  await withAdmin(testKafka(config), (admin) =>
    admin.createTopics({
      waitForLeaders: true,
      topics: topics.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: 1 })),
    }),
  );
}

/** Deletes a test's topics; a topic already gone is not an error. */
export async function deleteTestTopics(config: Config, topics: readonly string[]): Promise<void> {
  await withAdmin(testKafka(config), (admin) => admin.deleteTopics({ topics: [...topics], timeout: 10_000 }).catch(() => undefined));
}

/** Messages in a topic: the sum over partitions of (high watermark - low watermark). */
export async function countMessages(config: Config, topic: string): Promise<number> {
  const bounds = await withAdmin(testKafka(config), (admin) => partitionBounds(admin, [topic]));
  return bounds.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
}
