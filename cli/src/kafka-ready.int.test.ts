import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { loadConfig, Topics } from '@lambdamart/core';
import { waitForKafkaReady } from './kafka-ready.ts';

describe('waitForKafkaReady', () => {
  it('passes every check against the running broker', async () => {
    const checks = await waitForKafkaReady(loadConfig(), [Topics.transactions], 30_000);
    assert.deepEqual(
      checks.map((c) => [c.name, c.ok]),
      [
        ['partition leaders', true],
        ['group coordinator', true],
        ['idempotent produce', true],
      ],
    );
  });

  it('gives up after its timeout with the reason, when nothing Kafka answers', async () => {
    // A port that accepts connections and never speaks Kafka, so no check can pass.
    const silent = createServer((socket) => socket.on('error', () => undefined));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as { port: number };
    try {
      const config = loadConfig({ KAFKA_BROKERS: `127.0.0.1:${port}`, LOG_LEVEL: 'silent' });
      const started = Date.now();
      await assert.rejects(waitForKafkaReady(config, [Topics.transactions], 3_000), /Kafka was not ready within 3 s \(.+\)/);
      assert.ok(Date.now() - started < 30_000, 'it stops near its timeout');
    } finally {
      silent.close();
    }
  });
});
