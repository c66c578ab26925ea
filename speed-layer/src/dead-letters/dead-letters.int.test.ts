/**
 * Dead letters on the real Kafka and Postgres: the savers refuse views that a wrong constraint
 * rejects (and some malformed messages); after the fix, a replay saves each refused view exactly
 * once, also when the replay runs twice or is forced again.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runCliSync } from '@lambdamart/cli-launch';
import { createEventProducer, createKafka, type EventProducer, loadConfig, type Pool, partitionBounds, withAdmin } from '@lambdamart/core';
import { withPool, withTempDatabase } from '@lambdamart/test-helpers';
import { migrateUp } from '@lambdamart/warehouse';
import { startSavers } from '../saver.ts';
import { createSaverTopics, deleteSaverTopics, messagesOf, productView, randomSuffix, sendAll, waitFor } from '../testing/index.ts';
import type { SaverTopics } from '../topics.ts';
import { listDeadLetters, showDeadLetter } from './inspect.ts';
import { replayDeadLetters } from './replay.ts';

const config = loadConfig({ ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' });

/** Waits until the savers' committed offsets reach the end of `topic`: all of it was handled. */
async function waitUntilConsumed(pool: Pool, group: string, topic: string): Promise<void> {
  const kafka = createKafka({ ...config.kafka, clientId: 'lambdamart-test' });
  const end = (await withAdmin(kafka, (admin) => partitionBounds(admin, [topic]))).reduce((n, p) => n + Number(p.high), 0);
  const done = await waitFor(
    async () =>
      (
        await pool.query<{ n: number }>(
          'select coalesce(sum(next_offset), 0)::int as n from consumer_offsets where group_id = $1 and topic = $2',
          [group, topic],
        )
      ).rows[0]?.n ?? 0,
    (n) => n >= end,
    30_000,
  );
  assert.ok(done >= end, `the savers reached offset ${end} of ${topic} (at ${done})`);
}

const counts = async (pool: Pool) =>
  (
    await pool.query<{ views: number; dead: number }>(
      'select (select count(*) from product_view_events)::int as views, (select count(*) from dead_letters)::int as dead',
    )
  ).rows[0] as { views: number; dead: number };

describe('dead letters: list, show, replay after a fix', { timeout: 120_000 }, () => {
  let topics: SaverTopics;
  let producer: EventProducer;
  before(async () => {
    topics = await createSaverTopics(config, randomSuffix('dlq'));
    producer = createEventProducer({ ...config.kafka, clientId: 'lambdamart-test' });
    await producer.connect();
  });
  after(async () => {
    await producer.disconnect();
    await deleteSaverTopics(config, topics);
  });

  it('refused views are listed by reason, replayed once after the fix, and a second replay adds nothing', async () => {
    await withTempDatabase('dlq', async (url) => {
      await migrateUp('realtime', url);
      await withPool(url, async (pool) => {
        // The "bug": a constraint that refuses views of 100 s or more.
        await pool.query('alter table product_view_events add constraint views_too_short check (view_duration < 100)');
        const views = Array.from({ length: 40 }, (_, i) => ({ ...productView(i), view_duration: i < 10 ? 150 + i : i }));
        await sendAll(producer, topics.productViews, messagesOf(views, 'user_id'));
        await producer.send(
          topics.productViews,
          ['{"event_id":', 'not json', '{"a":'].map((value) => ({ key: 'bad', value })),
        );

        const group = 'it-dlq';
        const savers = await startSavers({ ...config, realtimeDatabaseUrl: url }, { group, topics, metricsPort: 0 });
        try {
          const before = await waitFor(
            () => counts(pool),
            (c) => c.views + c.dead >= 43,
          );
          assert.deepEqual(before, { views: 30, dead: 13 });

          const groups = await listDeadLetters(pool, { topic: topics.productViews });
          const refused = groups.find((g) => /^refused by PostgreSQL/.test(g.reason));
          assert.ok(refused, `a group of refused views among ${groups.map((g) => g.reason).join(' | ')}`);
          assert.equal(refused.count, 10);
          assert.equal(refused.pending, 10);
          assert.equal(
            groups.filter((g) => /^malformed JSON/.test(g.reason)).reduce((n, g) => n + g.count, 0),
            3,
          );
          assert.equal((await listDeadLetters(pool, { reason: 'REFUSED BY' })).length, 1, 'reason matches ignore case');
          assert.deepEqual(await listDeadLetters(pool, { reason: '100%' }), [], '% in the text is not a wildcard');
          const shown = await showDeadLetter(pool, refused.newest_id);
          assert.equal(shown?.source_topic, topics.productViews);
          assert.equal(JSON.parse(shown?.payload ?? '{}').view_duration >= 150, true);

          // A dry run sends nothing.
          const dry = await replayDeadLetters(pool, producer, { reason: 'refused by' }, { dryRun: true });
          assert.deepEqual([dry.sent, dry.byTopic], [10, { [topics.productViews]: 10 }]);

          // The fix, then the replay.
          await pool.query('alter table product_view_events drop constraint views_too_short');
          const first = await replayDeadLetters(pool, producer, { reason: 'refused by' }, { chunk: 4 });
          assert.equal(first.sent, 10);
          const replayed = await waitFor(
            () => counts(pool),
            (c) => c.views >= 40,
          );
          assert.deepEqual(replayed, { views: 40, dead: 13 }, 'every refused view saved, no new dead letter');
          const marked = await pool.query<{ n: number }>(
            'select count(*)::int as n from dead_letters where replayed_at is not null and replay_count = 1',
          );
          assert.equal(marked.rows[0]?.n, 10);

          // Twice: nothing is sent again.
          const second = await replayDeadLetters(pool, producer, { reason: 'refused by' });
          assert.deepEqual([second.sent, second.alreadyReplayed], [0, 10]);

          // Forced again by id: sent, and still saved once.
          const ids = (
            await pool.query<{ id: number }>("select dead_letter_id::int as id from dead_letters where reason like 'refused by%'")
          ).rows.map((r) => r.id);
          const forced = await replayDeadLetters(pool, producer, { ids }, { again: true });
          assert.equal(forced.sent, 10);
          await waitUntilConsumed(pool, group, topics.productViews);
          assert.deepEqual(await counts(pool), { views: 40, dead: 13 }, 'a forced replay adds nothing');

          // Still-bad messages come back as new dead letters, never as rows.
          const bad = await replayDeadLetters(pool, producer, { reason: 'malformed' });
          assert.equal(bad.sent, 3);
          await waitUntilConsumed(pool, group, topics.productViews);
          assert.deepEqual(await counts(pool), { views: 40, dead: 16 });
        } finally {
          await savers.stop();
        }

        // The command a user runs: bad flags stop with one line, an unknown id exits 1.
        const env = { ...process.env, REALTIME_DATABASE_URL: url, LOG_LEVEL: 'silent' };
        const run = (...args: string[]) => runCliSync(['dlq', ...args], { env });
        const again = run('replay', '--again');
        assert.equal(again.status, 1);
        assert.equal(again.stderr, 'lambdamart: --again needs --ids: name the dead letters to send again\n');
        const missing = run('show', '999999');
        assert.equal(missing.status, 1);
        assert.match(missing.stderr, /no dead letter with id 999999/);
        const list = run('list', '--topic', topics.productViews);
        assert.equal(list.status, 0, list.stderr);
        assert.match(list.stdout, /^count\s+pending\s+topic\s+reason/);
        assert.match(list.stdout, /\n10\s+0\s+\S+\s+refused by PostgreSQL/);
      });
    });
  });
});
