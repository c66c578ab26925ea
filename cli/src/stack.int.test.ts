/**
 * The local stack for real: up twice, status, down twice, up again. Runs the CLI as a user
 * would, so exit codes and messages are part of what is checked. Leaves the stack running.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { allTopics, createEventProducer, createKafka, loadConfig, Topics } from '@lambdamart/core';

const main = resolve(import.meta.dirname, 'main.ts');

function lambdamart(...args: string[]) {
  const run = spawnSync(process.execPath, ['--import', 'tsx', main, ...args], { encoding: 'utf8', timeout: 300_000 });
  return { code: run.status, out: run.stdout, err: run.stderr };
}

function hasKcat(): boolean {
  return spawnSync('kcat', ['-V'], { encoding: 'utf8' }).status === 0;
}

describe('lambdamart stack', { timeout: 600_000 }, () => {
  it('up is idempotent: a second run starts, creates and migrates nothing new', () => {
    const first = lambdamart('stack', 'up');
    assert.equal(first.code, 0, first.err);
    const second = lambdamart('stack', 'up');
    assert.equal(second.code, 0, second.err);
    assert.doesNotMatch(second.out, /topics created:|migrations applied:/);
    assert.match(second.out, /kafka\s+\S+\s+up/);
  });

  it('status lists each component healthy and exits 0', () => {
    const status = lambdamart('stack', 'status', '--json');
    assert.equal(status.code, 0, status.err);
    const components = JSON.parse(status.out) as { component: string; healthy: boolean }[];
    assert.deepEqual(
      components.map((c) => [c.component, c.healthy]),
      [
        ['kafka', true],
        ['postgres realtime', true],
        ['postgres warehouse', true],
      ],
    );
  });

  it('a Kafka client that is not ours sees every topic with its partitions', {
    skip: !hasKcat() && !process.env.CI && 'kcat is not installed',
  }, () => {
    const broker = loadConfig().kafka.brokers[0] ?? '';
    const kcat = spawnSync('kcat', ['-L', '-J', '-b', broker], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(kcat.status, 0, kcat.stderr);
    const metadata = JSON.parse(kcat.stdout) as { topics: { topic: string; partitions: unknown[] }[] };
    for (const spec of allTopics) {
      const topic = metadata.topics.find((t) => t.topic === spec.name);
      assert.ok(topic, `${spec.name} exists`);
      assert.equal(topic.partitions.length, spec.partitions, `${spec.name} has ${spec.partitions} partitions`);
    }
  });

  it('down twice is harmless, and status then exits 1 naming what is down', () => {
    const config = loadConfig();
    const first = lambdamart('stack', 'down');
    assert.equal(first.code, 0, first.err);
    const second = lambdamart('stack', 'down');
    assert.equal(second.code, 0, second.err);
    if (!config.external.kafka) {
      const status = lambdamart('stack', 'status');
      assert.equal(status.code, 1);
      assert.match(status.out, /kafka\s+\S+\s+DOWN/);
    }
  });

  it('up again brings everything back, data intact', () => {
    const up = lambdamart('stack', 'up', '--quiet');
    assert.equal(up.code, 0, up.err);
    assert.equal(up.out, '', '--quiet prints nothing');
    assert.equal(lambdamart('stack', 'status').code, 0);
  });

  it('once up returns after a cold start, produce and group offsets work without a single retry', async () => {
    // Before stack up waited for readiness, the first test after a cold start saw "This server is
    // not the leader for that topic-partition" and "coordinator is loading".
    const kafka = createKafka({ ...loadConfig().kafka, clientId: 'lambdamart-test', retry: { retries: 0 } });
    const producer = createEventProducer({ ...loadConfig().kafka, clientId: 'lambdamart-test', idempotent: false, retries: 0 });
    const admin = kafka.admin();
    await producer.connect();
    await admin.connect();
    try {
      await producer.send(Topics.productViews.name, [{ key: 'ready-check', value: 'not an event: dead-lettered by the savers' }]);
      const groupId = `lambdamart-test-ready-${process.pid}`;
      await admin.setOffsets({ groupId, topic: Topics.productViews.name, partitions: [{ partition: 0, offset: '0' }] });
      const fetched = await admin.fetchOffsets({ groupId, topics: [Topics.productViews.name] });
      assert.equal(fetched[0]?.partitions.find((p) => p.partition === 0)?.offset, '0');
      await admin.deleteGroups([groupId]);
    } finally {
      await producer.disconnect();
      await admin.disconnect();
    }
  });
});
