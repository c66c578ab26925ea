/** Test and benchmark helpers on the real Kafka: topics of their own, producing, cleaning up. */
import { randomBytes } from 'node:crypto';
import { after } from 'node:test';
import { type Config, createEventProducer, type EventProducer, type OutgoingMessage } from '@lambdamart/core';
import { createTestTopics, deleteTestTopics } from '@lambdamart/test-helpers';
import { type SaverTopics, saverTopicsWithSuffix } from '../topics.ts';

export function randomSuffix(label: string): string {
  return `.${label}-${randomBytes(4).toString('hex')}`;
}

/** Creates the five saver topics with a suffix (3 partitions each) and returns their names. */
export async function createSaverTopics(config: Config, suffix: string, partitions = 3): Promise<SaverTopics> {
  const topics = saverTopicsWithSuffix(suffix);
  await createTestTopics(config, Object.values(topics), partitions);
  return topics;
}

export async function deleteSaverTopics(config: Config, topics: SaverTopics): Promise<void> {
  await deleteTestTopics(config, Object.values(topics));
}

/**
 * For a describe() block whose tests each want saver topics of their own: call it in the block;
 * it returns what makes a test's topics (a suffix from `label`) and deletes them all after the block.
 */
export function topicsPerTest(config: Config): (label: string) => Promise<{ suffix: string; topics: SaverTopics }> {
  const created: SaverTopics[] = [];
  after(async () => {
    for (const topics of created) await deleteSaverTopics(config, topics);
  });
  return async (label) => {
    const suffix = randomSuffix(label);
    const topics = await createSaverTopics(config, suffix);
    created.push(topics);
    return { suffix, topics };
  };
}

export async function withProducer<T>(config: Config, use: (producer: EventProducer) => Promise<T>): Promise<T> {
  const producer = createEventProducer({ ...config.kafka, clientId: 'lambdamart-speed-test' });
  await producer.connect();
  try {
    return await use(producer);
  } finally {
    await producer.disconnect();
  }
}

/** Events as messages keyed like the real topics (user_id; product_id for the catalog). */
export function messagesOf(events: readonly object[], key: string): OutgoingMessage[] {
  return events.map((event) => ({ key: String((event as Record<string, unknown>)[key]), value: JSON.stringify(event) }));
}

/** Sends in chunks, so one request stays well under the broker's size limit. */
export async function sendAll(producer: EventProducer, topic: string, messages: readonly OutgoingMessage[], chunk = 2000): Promise<void> {
  for (let i = 0; i < messages.length; i += chunk) await producer.send(topic, messages.slice(i, i + chunk));
}
