/**
 * Against the real local Kafka, on topics of our own: what runGenerator reports as sent is in the
 * topics, and a generator killed with SIGTERM mid-run loses nothing it reported as sent.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { collectOutput, spawnCli } from '@lambdamart/cli-launch';
import { createEventProducer, createKafka, loadConfig, Topics } from '@lambdamart/core';
import { countMessages, createTestTopics, deleteTestTopics, waitFor } from '@lambdamart/test-helpers';
import { importCsv } from './csv/import.ts';
import { planImport } from './csv/plan.ts';
import { runGenerator } from './run.ts';
import type { GeneratorSummary } from './send.ts';
import { kafkaSink } from './sinks.ts';
import { generatorTopicsWithSuffix } from './testing/topics.ts';

const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn' });
const root = resolve(import.meta.dirname, '../..');

async function countAll(renames: Record<string, string>): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const [real, topic] of Object.entries(renames)) counts[real] = await countMessages(config, topic);
  return counts;
}

/** Every message of a topic, by partition in offset order, read from the start by a throwaway group. */
async function readTopic(topic: string, expected: number): Promise<{ partition: number; key: string; value: string }[]> {
  const consumer = createKafka({ ...config.kafka, clientId: 'lambdamart-test' }).consumer({ groupId: `gen-reader-${topic}-${Date.now()}` });
  const messages: { partition: number; offset: number; key: string; value: string }[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        messages.push({ partition, offset: Number(message.offset), key: String(message.key), value: String(message.value) });
      },
    });
    await waitFor(
      `${expected} messages in ${topic}`,
      async () => messages.length,
      (n) => n >= expected,
      60_000,
    );
  } finally {
    await consumer.disconnect();
  }
  return messages.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
}

/** Each key's values in the order Kafka holds them (one key lives on one partition). */
function byKey(messages: readonly { key: string; value: string }[]): Map<string, string[]> {
  const keys = new Map<string, string[]>();
  for (const { key, value } of messages) {
    const values = keys.get(key) ?? [];
    values.push(value);
    keys.set(key, values);
  }
  return keys;
}

describe('generator into Kafka', () => {
  const renames = generatorTopicsWithSuffix('gen-test');
  const suffix = (renames[Topics.transactions.name] as string).slice(Topics.transactions.name.length);
  before(() => createTestTopics(config, Object.values(renames)));
  after(() => deleteTestTopics(config, Object.values(renames)));

  it('puts exactly what it reports as sent into the topics, bad events included', async () => {
    const before = await countAll(renames);
    const summary = await runGenerator(
      config,
      { rate: 'max', seed: 5, count: 20_000, badRate: 0.01, producers: 2, topicFor: (t) => renames[t] ?? t },
      new AbortController().signal,
    );
    assert.equal(summary.stoppedBy, 'end');
    assert.ok(summary.invalidTotal > 40 && summary.unusualTotal > 40, `${summary.invalidTotal} invalid, ${summary.unusualTotal} unusual`);
    const after = await countAll(renames);
    const delta = (topic: string) => (after[topic] ?? 0) - (before[topic] ?? 0);
    const byTopic = {
      view: Topics.productViews.name,
      cart: Topics.cartEvents.name,
      transaction: Topics.transactions.name,
      catalog: Topics.productCatalog.name,
    };
    let total = 0;
    for (const [kind, topic] of Object.entries(byTopic)) {
      assert.equal(delta(topic), summary.byKind[kind as keyof typeof byTopic], `${kind} messages in ${topic}`);
      total += delta(topic);
    }
    assert.equal(total, summary.sent);
  });

  it('puts the same events into each topic, in the same order per key, with 1 or 3 workers', async () => {
    const one = generatorTopicsWithSuffix('gen-w1');
    const three = generatorTopicsWithSuffix('gen-w3');
    await createTestTopics(config, [...Object.values(one), ...Object.values(three)]);
    try {
      const run = (workers: number, renames: Record<string, string>) =>
        runGenerator(
          config,
          {
            rate: 'max',
            seed: 12,
            start: Date.parse('2026-02-01T00:00:00Z'),
            count: 6000,
            badRate: 0.02,
            workers,
            batchSize: 700,
            topicFor: (t) => renames[t] ?? t,
          },
          new AbortController().signal,
        );
      const [summaryOne, summaryThree] = [await run(1, one), await run(3, three)];
      assert.equal(summaryThree.sent, summaryOne.sent);
      assert.deepEqual(summaryThree.byKind, summaryOne.byKind);
      assert.deepEqual(summaryThree.invalid, summaryOne.invalid);
      assert.deepEqual(summaryThree.unusual, summaryOne.unusual);
      for (const [kind, topic] of Object.entries({
        view: Topics.productViews.name,
        cart: Topics.cartEvents.name,
        transaction: Topics.transactions.name,
        catalog: Topics.productCatalog.name,
      })) {
        const expected = summaryOne.byKind[kind as keyof typeof summaryOne.byKind];
        const a = await readTopic(one[topic] as string, expected);
        const b = await readTopic(three[topic] as string, expected);
        assert.equal(a.length, expected, `${kind}: every acknowledged event is in ${topic}`);
        assert.equal(b.length, expected, `${kind}: the same count with 3 workers`);
        const keysA = byKey(a);
        const keysB = byKey(b);
        assert.deepEqual([...keysB.keys()].sort(), [...keysA.keys()].sort(), `${kind}: the same keys`);
        for (const [key, values] of keysA) assert.deepEqual(keysB.get(key), values, `${kind}: ${key}'s events in the same order`);
      }
    } finally {
      await deleteTestTopics(config, [...Object.values(one), ...Object.values(three)]);
    }
  });

  it('keeps steady at a set rate', async () => {
    const summary = await runGenerator(
      config,
      { rate: 2000, durationMs: 3000, seed: 6, topicFor: (t) => renames[t] ?? t },
      new AbortController().signal,
    );
    assert.equal(summary.stoppedBy, 'duration');
    // 500 catalog records plus about 2000/s for 3 s.
    assert.ok(summary.sent > 500 + 4500 && summary.sent < 500 + 7000, `${summary.sent} sent`);
  });

  it('loses nothing that it reported as sent when SIGTERM stops it mid-run', async () => {
    const before = await countAll(renames);
    const child = spawnCli(['generate', '--rate', 'max', '--seed', '9', '--topic-suffix', suffix, '--json'], {
      cwd: root,
      env: { ...process.env, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output = collectOutput(child);
    const exited = new Promise<number | null>((resolveExit) => child.on('exit', (code) => resolveExit(code)));
    // Wait until it is sending for real, then stop it mid-stream.
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const counts = await countAll(renames);
      if ((counts[Topics.productViews.name] ?? 0) - (before[Topics.productViews.name] ?? 0) > 20_000) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    child.kill('SIGTERM');
    const code = await exited;
    assert.equal(code, 0, `exit code (stderr: ${output.stderr})`);
    const summary = JSON.parse(output.stdout.trim().split('\n').at(-1) as string) as GeneratorSummary;
    assert.equal(summary.stoppedBy, 'signal');
    assert.ok(summary.sent > 20_000, `${summary.sent} reported as sent`);
    const after = await countAll(renames);
    const inTopics = Object.keys(renames).reduce((sum, t) => sum + (after[t] ?? 0) - (before[t] ?? 0), 0);
    // Flushed on SIGTERM: everything reported is there, and nothing beyond what was in flight.
    assert.equal(inTopics, summary.sent);
  });

  it('imports a CSV into its topic, the rejects aside', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lambdamart-import-int-'));
    try {
      const file = join(dir, 'views.csv');
      const rows = ['user_id,product_id,timestamp,view_duration'];
      for (let i = 0; i < 3000; i++)
        rows.push(`u${i % 50},p${i % 7},2025-12-01T10:${String(i % 60).padStart(2, '0')}:00Z,${i % 9 === 0 ? 'x' : i % 300}`);
      writeFileSync(file, `${rows.join('\n')}\n`);
      const before = await countMessages(config, renames[Topics.productViews.name] as string);
      const producer = createEventProducer({ ...config.kafka, clientId: 'lambdamart-generator-test' });
      await producer.connect();
      try {
        const summary = await importCsv(await planImport(file, 'views'), kafkaSink([producer], { topicFor: (t) => renames[t] ?? t }), {
          type: 'views',
          rejectsFile: join(dir, 'rejects.csv'),
        });
        assert.equal(summary.rejected, 334);
        assert.equal(summary.sent, 3000 - 334);
        assert.equal((await countMessages(config, renames[Topics.productViews.name] as string)) - before, summary.sent);
      } finally {
        await producer.disconnect();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
