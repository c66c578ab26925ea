/** POST /events against the real Kafka (topics of the test's own) and /pipeline/status reading them. */
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { Topics } from '@lambdamart/core';
import { countMessages, createTestTopics, deleteTestTopics } from '@lambdamart/test-helpers';
import { json, withApiDatabases, withApp } from './testing/fixtures.ts';

const admin = 'admin-key-0123456789abcdef';

const transaction = () => ({
  transaction_id: randomUUID(),
  user_id: 'u1',
  session_id: 's1',
  products: [{ product_id: 'p1', quantity: 2, price: 5 }],
  total_amount: 10,
  currency: 'USD',
  payment_method: 'card',
  country: 'US',
  transaction_timestamp: '2026-11-20T10:00:00Z',
});
const view = () => ({
  event_id: randomUUID(),
  event_type: 'view',
  user_id: 'u1',
  product_id: 'p1',
  session_id: 's1',
  view_duration: 12,
  country: 'US',
  timestamp: '2026-11-20T10:00:00Z',
});

describe('POST /events', () => {
  it('sends valid events once Kafka acknowledged them, refuses invalid ones by index and field, honours Idempotency-Key', async () => {
    const suffix = `.api-${randomBytes(3).toString('hex')}`;
    await withApiDatabases('api_events', { API_KEYS: `${admin}:admin` }, async ({ config, rt }) => {
      const topics = [Topics.transactions, Topics.productViews, Topics.cartEvents, Topics.productCatalog].map((t) => t.name + suffix);
      await createTestTopics(config, topics);
      try {
        await withApp({ config, topicSuffix: suffix }, async (app) => {
          const post = (payload: unknown, headers: Record<string, string> = {}) =>
            app.inject({ method: 'POST', url: '/api/v1/events', headers: { 'x-api-key': admin, ...headers }, payload: payload as object });

          const one = await post(transaction());
          assert.equal(one.statusCode, 202, one.body);
          assert.deepEqual(json(one).by_kind, { transaction: 1 });
          const many = await post([view(), view(), transaction()]);
          assert.equal(many.statusCode, 202, many.body);
          assert.equal(await countMessages(config, Topics.transactions.name + suffix), 2);
          assert.equal(await countMessages(config, Topics.productViews.name + suffix), 2);

          // Invalid: each problem with its index and field; nothing of the request is sent.
          const broken = { ...transaction(), total_amount: 11 };
          const bad = await post([view(), broken, { hello: 'world' }, { ...view(), view_duration: -1 }]);
          assert.equal(bad.statusCode, 400);
          assert.equal(json(bad).code, 'LM_ERR_API_EVENT_INVALID');
          assert.deepEqual(
            json<{ details: { index: number; field: string }[] }>(bad).details.map((d) => [d.index, d.field]),
            [
              [1, 'body[1].total_amount'],
              [2, 'body[2]'],
              [3, 'body[3].view_duration'],
            ],
          );
          assert.equal(await countMessages(config, Topics.productViews.name + suffix), 2, 'nothing of a refused request is sent');
          assert.equal((await post(Array.from({ length: 1001 }, view))).statusCode, 400, 'more than 1,000 events');
          assert.equal((await post('not json', { 'content-type': 'application/json' })).statusCode, 400);

          // The same Idempotency-Key twice: one event in Kafka, the same answer.
          const event = transaction();
          const first = await post(event, { 'idempotency-key': 'order-42' });
          const second = await post(event, { 'idempotency-key': 'order-42' });
          assert.equal(first.statusCode, 202);
          assert.equal(second.statusCode, 202);
          assert.equal(json(second).replayed, true);
          assert.equal(await countMessages(config, Topics.transactions.name + suffix), 3);
          const conflict = await post(transaction(), { 'idempotency-key': 'order-42' });
          assert.equal(conflict.statusCode, 422);
          assert.equal(json(conflict).code, 'LM_ERR_API_IDEMPOTENCY_CONFLICT');

          // A claim left pending (a request that died mid-send): refused while fresh, taken over after a minute.
          const stale = transaction();
          const hash = createHash('sha256').update(JSON.stringify(stale)).digest('hex');
          await rt.query(`insert into api_idempotency_keys (idempotency_key, request_hash) values ('order-43', $1)`, [hash]);
          const inFlight = await post(stale, { 'idempotency-key': 'order-43' });
          assert.equal(inFlight.statusCode, 409);
          assert.equal(json(inFlight).code, 'LM_ERR_API_IDEMPOTENCY_IN_FLIGHT');
          await rt.query(`update api_idempotency_keys set created_at = now() - interval '2 minutes' where idempotency_key = 'order-43'`);
          const retaken = await post(stale, { 'idempotency-key': 'order-43' });
          assert.equal(retaken.statusCode, 202, retaken.body);
          assert.equal(json(retaken).replayed, false);
          assert.equal(await countMessages(config, Topics.transactions.name + suffix), 4);

          // A topic that does not exist: a 503 within seconds, not a request that hangs.
          await withApp({ config, topicSuffix: '.api-no-such-topic' }, async (lost) => {
            const started = Date.now();
            const response = await lost.inject({ method: 'POST', url: '/api/v1/events', headers: { 'x-api-key': admin }, payload: view() });
            assert.equal(response.statusCode, 503, response.body);
            assert.equal(json(response).code, 'LM_ERR_API_KAFKA_UNAVAILABLE');
            assert.ok(Date.now() - started < 20_000);
          });

          // The pipeline status sees the messages: nothing consumed yet, so the lag is all of them.
          await rt.query(
            `insert into consumer_offsets (group_id, topic, partition, next_offset) select 'savers', $1, p, 0 from generate_series(0, 2) p`,
            [Topics.transactions.name + suffix],
          );
          await rt.query(
            `insert into dead_letters (source_topic, source_partition, source_offset, reason) values ('x', 0, 1, 'total_amount is not the sum')`,
          );
          const status = json<{
            kafka: { reachable: boolean };
            consumer_lag: { topic: string; lag: number }[];
            dead_letters_last_hour: { count: number; latest: { reason: string }[] };
          }>(await app.inject({ url: '/api/v1/pipeline/status', headers: { 'x-api-key': admin } }));
          assert.equal(status.kafka.reachable, true);
          const lag = status.consumer_lag.filter((l) => l.topic === Topics.transactions.name + suffix).reduce((s, l) => s + l.lag, 0);
          assert.equal(lag, 4);
          assert.equal(status.dead_letters_last_hour.count, 1);
          assert.equal(status.dead_letters_last_hour.latest[0]?.reason, 'total_amount is not the sum');
        });
      } finally {
        await deleteTestTopics(config, topics);
      }
    });
  });
});
