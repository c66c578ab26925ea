/**
 * withAdmin and partitionBounds against the real broker: each partition's first and next offsets
 * after a few sends, and the admin is disconnected even when the work fails.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from './config.ts';
import { createKafka, partitionBounds, withAdmin } from './kafka.ts';

const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn' });
const kafka = createKafka({ ...config.kafka, clientId: 'lambdamart-test' });
const topics = [`lm-core-bounds.${randomBytes(4).toString('hex')}-a`, `lm-core-bounds.${randomBytes(4).toString('hex')}-b`];

describe('partitionBounds', () => {
  before(async () => {
    await withAdmin(kafka, (admin) =>
      admin.createTopics({ waitForLeaders: true, topics: topics.map((topic) => ({ topic, numPartitions: 2, replicationFactor: 1 })) }),
    );
    const producer = kafka.producer();
    await producer.connect();
    try {
      await producer.send({ topic: topics[0] as string, messages: [0, 1, 2].map((i) => ({ partition: 0, value: `m${i}` })) });
      await producer.send({ topic: topics[0] as string, messages: [{ partition: 1, value: 'm' }] });
    } finally {
      await producer.disconnect();
    }
  });

  after(async () => {
    await withAdmin(kafka, (admin) => admin.deleteTopics({ topics, timeout: 10_000 })).catch(() => undefined);
  });

  it("reads every partition's first and next offsets, topic by topic", async () => {
    const bounds = await withAdmin(kafka, (admin) => partitionBounds(admin, topics));
    const sorted = [...bounds].sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
    assert.deepEqual(
      sorted,
      [
        { topic: topics[0], partition: 0, low: '0', high: '3' },
        { topic: topics[0], partition: 1, low: '0', high: '1' },
        { topic: topics[1], partition: 0, low: '0', high: '0' },
        { topic: topics[1], partition: 1, low: '0', high: '0' },
      ].sort((a, b) => String(a.topic).localeCompare(String(b.topic)) || a.partition - b.partition),
    );
  });

  it('passes on the error of the work and still disconnects the admin', async () => {
    let used: { disconnected: boolean } | null = null;
    await assert.rejects(
      withAdmin(kafka, async (admin) => {
        const state = { disconnected: false };
        admin.on(admin.events.DISCONNECT, () => {
          state.disconnected = true;
        });
        used = state;
        throw new Error('the work failed');
      }),
      /the work failed/,
    );
    assert.deepEqual(used, { disconnected: true });
  });
});
