/**
 * A bad burst from a producer that is not ours (kcat) must not stop the savers: thousands of
 * invalid messages and one near 1 MiB are dead-lettered in requests that fit the broker, the valid
 * events behind them are saved; a dead-letter topic that refuses writes pauses only the partitions
 * that need it, shows in /health, and is retried until it takes them.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { createKafka, DeadLetterHeaders, loadConfig } from '@lambdamart/core';
import { countMessages, withPool, withTempDatabase } from '@lambdamart/test-helpers';
import { migrateUp } from '@lambdamart/warehouse';
import kafkajs from 'kafkajs';
import { startSavers } from './saver.ts';
import { productView, realtimeCounts, topicsPerTest, waitFor } from './testing/index.ts';
import { kcatProduce } from './testing/kcat.ts';

const config = loadConfig({ ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'error' });
// kafkajs is CommonJS; Node's named-export detection misses this enum.
const { ConfigResourceTypes } = kafkajs;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface DeadLetterRecord {
  headers: Record<string, string>;
  value: Buffer;
}

/** Every record of a topic, read from the start by a throwaway group. */
async function readAll(topic: string, expected: number): Promise<DeadLetterRecord[]> {
  const consumer = createKafka({ ...config.kafka, clientId: 'lambdamart-test' }).consumer({ groupId: `dlq-reader-${Date.now()}` });
  const records: DeadLetterRecord[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]));
        records.push({ headers, value: message.value ?? Buffer.alloc(0) });
      },
    });
    await waitFor(
      async () => records.length,
      (n) => n >= expected,
      30_000,
    );
  } finally {
    await consumer.disconnect();
  }
  return records;
}

async function setMaxMessageBytes(topic: string, bytes: number): Promise<void> {
  const admin = createKafka({ ...config.kafka, clientId: 'lambdamart-test' }).admin();
  await admin.connect();
  try {
    await admin.alterConfigs({
      validateOnly: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: 'max.message.bytes', value: String(bytes) }] }],
    });
  } finally {
    await admin.disconnect();
  }
}

async function healthOf(port: number): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`http://127.0.0.1:${port}/health`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('savers and bad bursts', { timeout: 85_000 }, () => {
  const ownTopics = topicsPerTest(config);

  it('3,000 truncated JSON messages of 2 KB and one of 900 KB, then 200 valid views: all saved, all dead-lettered, the big one cut with its size and hash', async () => {
    const { topics } = await ownTopics('speed-burst');
    await withTempDatabase('burst', async (url) => {
      await migrateUp('realtime', url);
      // Random padding: gzip cannot make a burst fit, only splitting can.
      const padding = (bytes: number) => randomBytes((bytes * 3) / 4).toString('base64');
      const truncated = Array.from({ length: 3_000 }, (_, i) => `{"event_id":"${i}","padding":"${padding(2_000)}`);
      const big = `{"event_id":"big","padding":"${padding(900_000)}`;
      // All on one partition, the big one in the middle: the worst batch a saver can fetch.
      await kcatProduce(config, topics.productViews, truncated.slice(0, 1_500), { key: 'burst', codec: 'snappy' });
      await kcatProduce(config, topics.productViews, [big], { key: 'burst' });
      await kcatProduce(config, topics.productViews, truncated.slice(1_500), { key: 'burst', codec: 'lz4' });
      const views = Array.from({ length: 200 }, (_, i) => productView(i));
      await kcatProduce(
        config,
        topics.productViews,
        views.map((v) => JSON.stringify(v)),
        { key: 'burst' },
      );
      await withPool(url, async (pool) => {
        const savers = await startSavers({ ...config, realtimeDatabaseUrl: url }, { group: 'it-burst', topics, metricsPort: 0 });
        try {
          const counts = await waitFor(
            () => realtimeCounts(pool),
            (c) => c.views >= 200 && c.deadLetters >= 3_001,
            60_000,
          );
          const health = await healthOf(savers.metricsPort);
          assert.equal(counts.views, 200, `every valid view saved (health: ${JSON.stringify(health.body)})`);
          assert.equal(counts.deadLetters, 3_001, 'every bad message in dead_letters');
          assert.equal(health.status, 200);
          const row = await pool.query<{ bytes: number; reason: string }>(
            `select octet_length(payload)::int as bytes, reason from dead_letters where payload like '{"event_id":"big"%'`,
          );
          assert.equal(row.rows[0]?.bytes, Buffer.byteLength(big), 'the table keeps the big payload whole');
          assert.match(row.rows[0]?.reason ?? '', /^malformed JSON/);
        } finally {
          await savers.stop();
        }
      });
      const dlq = await readAll(topics.deadLetters, 3_001);
      const offsets = new Set(
        dlq.map((r) => `${r.headers[DeadLetterHeaders.sourcePartition]}/${r.headers[DeadLetterHeaders.sourceOffset]}`),
      );
      assert.equal(offsets.size, 3_001, 'every bad message on the dead-letters topic');
      assert.equal(await countMessages(config, topics.deadLetters), dlq.length);
      const cut = dlq.filter((r) => r.headers[DeadLetterHeaders.payloadTruncated] === 'true');
      assert.equal(cut.length, 1, 'only the big one is cut');
      const [bigLetter] = cut as [DeadLetterRecord];
      assert.equal(bigLetter.headers[DeadLetterHeaders.payloadBytes], String(Buffer.byteLength(big)));
      assert.equal(bigLetter.headers[DeadLetterHeaders.payloadSha256], createHash('sha256').update(big).digest('hex'));
      assert.equal(bigLetter.headers[DeadLetterHeaders.sourceTopic], topics.productViews);
      assert.ok(bigLetter.value.length < Buffer.byteLength(big) && big.startsWith(bigLetter.value.toString()), 'the head of the payload');
      for (const record of dlq) assert.ok((record.headers[DeadLetterHeaders.reason]?.length ?? 0) <= 1_100, 'reason header capped');
    });
  });

  it('a dead-letter topic that refuses writes: only its partition pauses, /health says why, and it catches up once the topic takes them', async () => {
    const { topics } = await ownTopics('speed-dlq-refuses');
    await withTempDatabase('dlqrefuses', async (url) => {
      await migrateUp('realtime', url);
      // Smaller than any record batch: the topic refuses every dead letter.
      await setMaxMessageBytes(topics.deadLetters, 64);
      const first = Array.from({ length: 50 }, (_, i) => productView(i));
      const rest = Array.from({ length: 50 }, (_, i) => productView(100 + i));
      const other = Array.from({ length: 100 }, (_, i) => productView(200 + i));
      const bad = ['{"event_id":', 'not json', '{}'];
      await kcatProduce(
        config,
        topics.productViews,
        [...first.map((v) => JSON.stringify(v)), ...bad, ...rest.map((v) => JSON.stringify(v))],
        { extra: ['-p', '0'] },
      );
      await kcatProduce(
        config,
        topics.productViews,
        other.map((v) => JSON.stringify(v)),
        { extra: ['-p', '1'] },
      );
      await withPool(url, async (pool) => {
        const savers = await startSavers({ ...config, realtimeDatabaseUrl: url }, { group: 'it-dlq-refuses', topics, metricsPort: 0 });
        try {
          const blocked = await waitFor(
            () => healthOf(savers.metricsPort),
            (h) => Array.isArray(h.body.blocked),
            30_000,
          );
          assert.equal(blocked.status, 503, JSON.stringify(blocked.body));
          assert.equal(blocked.body.state, 'degraded');
          const [entry] = blocked.body.blocked as { topic: string; partition: number; cause: string; reason: string }[];
          assert.deepEqual([entry?.topic, entry?.partition, entry?.cause], [topics.productViews, 0, 'dead-letters']);
          assert.match(entry?.reason ?? '', /refuses|larger than the maximum|too large/i);
          // The other partition goes on, also with what arrives meanwhile; partition 0 holds its batch.
          await waitFor(
            () => realtimeCounts(pool),
            (c) => c.views >= 100,
            20_000,
          );
          const later = Array.from({ length: 20 }, (_, i) => productView(400 + i));
          await kcatProduce(
            config,
            topics.productViews,
            later.map((v) => JSON.stringify(v)),
            { extra: ['-p', '1'] },
          );
          const meanwhile = await waitFor(
            () => realtimeCounts(pool),
            (c) => c.views >= 120,
            20_000,
          );
          assert.equal(meanwhile.views, 120, 'partition 1 saved, partition 0 waits');
          assert.equal(meanwhile.deadLetters, 0, 'nothing recorded before the topic has it');
          const still = await healthOf(savers.metricsPort);
          assert.equal(still.status, 503);
          const attempts = (still.body.blocked as { attempts: number }[])[0]?.attempts ?? 0;
          assert.ok(attempts >= 1 && attempts <= 10, `retried with backoff, not spinning (${attempts} tries)`);

          await setMaxMessageBytes(topics.deadLetters, 1_048_588);
          const counts = await waitFor(
            () => realtimeCounts(pool),
            (c) => c.views >= 220 && c.deadLetters >= 3,
            40_000,
          );
          assert.equal(counts.views, 220);
          assert.equal(counts.deadLetters, 3);
          await sleep(300);
          const back = await healthOf(savers.metricsPort);
          assert.equal(back.status, 200, JSON.stringify(back.body));
        } finally {
          await savers.stop();
        }
      });
      assert.equal((await readAll(topics.deadLetters, 3)).length, 3);
    });
  });
});
