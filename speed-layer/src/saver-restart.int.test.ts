/**
 * A consumer crash that kafkajs does not restart: a member of another client (kcat, librdkafka)
 * holds the group with assignors kafkajs does not speak, so joining fails with
 * INCONSISTENT_GROUP_PROTOCOL, an error kafkajs never retries. The saver must not sit healthy and
 * idle: it says so in /health and restarts the consumer, or exits non-zero after too many tries.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { createKafka, loadConfig } from '@lambdamart/core';
import { withPool, withTempDatabase } from '@lambdamart/test-helpers';
import { migrateUp } from '@lambdamart/warehouse';
import { messagesOf, productView, realtimeCounts, sendAll, topicsPerTest, waitFor, withProducer } from './testing/index.ts';
import { healthOf, spawnSaver } from './testing/process.ts';

const config = loadConfig();

/** `kcat -G group topic`: a balanced consumer of another client in the group; resolves once it is a member. */
async function kcatGroupMember(group: string, topic: string): Promise<ChildProcess> {
  const child = spawn('kcat', ['-b', config.kafka.brokers.join(','), '-G', group, '-q', topic], { stdio: ['ignore', 'ignore', 'ignore'] });
  const admin = createKafka({ ...config.kafka, clientId: 'lambdamart-test' }).admin();
  await admin.connect();
  try {
    const described = await waitFor(
      () => admin.describeGroups([group]),
      (d) => d.groups[0]?.state === 'Stable' && (d.groups[0]?.members.length ?? 0) > 0,
      20_000,
      200,
    );
    assert.equal(described.groups[0]?.state, 'Stable', 'kcat joined the group');
  } finally {
    await admin.disconnect();
  }
  return child;
}

async function stopKcat(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

describe('savers whose consumer crashes with an error kafkajs does not retry', { timeout: 85_000 }, () => {
  const ownTopics = topicsPerTest(config);

  it('INCONSISTENT_GROUP_PROTOCOL: /health 503 with the crash while it restarts; once the group is free it saves everything', async () => {
    const { suffix, topics } = await ownTopics('speed-restart');
    const group = `restart-${suffix.slice(-8)}`;
    await withTempDatabase('restart', async (url) => {
      await migrateUp('realtime', url);
      const kcat = await kcatGroupMember(group, topics.productViews);
      const saver = await spawnSaver({ databaseUrl: url, group, topicSuffix: suffix });
      try {
        const crashed = await waitFor(
          () => healthOf(saver),
          (h) => h.body.lastCrash !== undefined,
          30_000,
        );
        const crash = crashed.body.lastCrash as { code?: string; error?: string } | undefined;
        assert.ok(crash, `the consumer crashed: ${JSON.stringify(crashed.body)}`);
        assert.equal(crash.code, 'LM_ERR_SPEED_CONSUMER_CRASHED');
        assert.match(String(crash.error), /supported protocols are incompatible/, 'says why');
        const health = await healthOf(saver);
        assert.equal(health.status, 503, `not healthy while its consumer is down: ${JSON.stringify(health.body)}`);
        assert.notEqual(health.body.state, 'consuming');

        await stopKcat(kcat);
        const views = Array.from({ length: 500 }, (_, i) => productView(i));
        await withProducer(config, (producer) => sendAll(producer, topics.productViews, messagesOf(views, 'user_id')));
        await withPool(url, async (pool) => {
          const counts = await waitFor(
            () => realtimeCounts(pool),
            (c) => c.views >= 500,
            40_000,
          );
          assert.equal(counts.views, 500, `restarted and saved every view (${JSON.stringify(saver.logs.slice(-3))})`);
        });
        const back = await healthOf(saver);
        assert.equal(back.status, 200);
        assert.equal(back.body.state, 'consuming');
      } finally {
        await stopKcat(kcat);
        saver.child.kill('SIGTERM');
        assert.deepEqual(await saver.exited, { code: 0, signal: null });
      }
    });
  });

  it('a consumer that keeps crashing: /health 503 "failed", then the process exits 1 with one line', async () => {
    const { suffix, topics } = await ownTopics('speed-giveup');
    const group = `giveup-${suffix.slice(-8)}`;
    await withTempDatabase('giveup', async (url) => {
      await migrateUp('realtime', url);
      const kcat = await kcatGroupMember(group, topics.productViews);
      const saver = await spawnSaver({ databaseUrl: url, group, topicSuffix: suffix, extraArgs: ['--max-restarts', '2'] });
      try {
        const failed = await waitFor(
          () => healthOf(saver).catch(() => undefined),
          (h) => h?.body.state === 'failed',
          30_000,
          100,
        );
        // The process may already be on its way out; when /health answered, it said failed with 503.
        if (failed) assert.equal(failed.status, 503);
        const exit = await Promise.race([saver.exited, new Promise((r) => setTimeout(() => r('still running'), 30_000))]);
        assert.deepEqual(
          exit,
          { code: 1, signal: null },
          `exits 1 so that a supervisor restarts it (${JSON.stringify(saver.logs.map((l) => [l.msg, l.error, l.stderr]))})`,
        );
        const stderr = saver.logs
          .filter((l) => l.stderr)
          .map((l) => l.stderr)
          .join('');
        assert.match(stderr, /lambdamart: the Kafka consumer kept crashing: .*supported protocols are incompatible/);
      } finally {
        await stopKcat(kcat);
        if (saver.child.exitCode === null) saver.child.kill('SIGKILL');
      }
    });
  });
});
