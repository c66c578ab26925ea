import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { DeadLetterHeaders, type EventProducer, type OutgoingMessage } from '@lambdamart/core';
import {
  capReason,
  DeadLetterSender,
  DeadLettersRefused,
  deadLetterMessage,
  estimatedBytes,
  isTooLarge,
  splitBySize,
} from './dead-letters.ts';

const source = { topic: 'product-views-topic', partition: 2 };

/** A producer that refuses requests over `limit` estimated bytes like the broker does (MESSAGE_TOO_LARGE). */
function sizeLimitedProducer(limit: number): EventProducer & { requests: OutgoingMessage[][] } {
  const requests: OutgoingMessage[][] = [];
  return {
    requests,
    connect: async () => undefined,
    disconnect: async () => undefined,
    sendBatch: async () => undefined,
    async send(_topic, messages) {
      if (messages.reduce((n, m) => n + estimatedBytes(m), 0) > limit) {
        throw Object.assign(new Error('The request included a message larger than the max message size the server will accept'), {
          type: 'MESSAGE_TOO_LARGE',
        });
      }
      requests.push(messages);
    },
  };
}

describe('dead letters to Kafka', () => {
  it('a long reason is capped in the header, saying how long it was', () => {
    assert.equal(capReason('short', 10), 'short');
    assert.equal(capReason('x'.repeat(25), 10), `${'x'.repeat(10)}... (25 characters in all)`);
  });

  it('a payload over the cap is cut, with its size, SHA-256 and source kept in headers', () => {
    const raw = Buffer.from('y'.repeat(5_000));
    const message = deadLetterMessage(source, { offset: '42', reason: 'malformed JSON', raw }, { maxReasonChars: 100, payloadCap: 1_000 });
    assert.equal((message.value as Buffer).length, 1_000);
    assert.deepEqual(message.headers, {
      [DeadLetterHeaders.reason]: 'malformed JSON',
      [DeadLetterHeaders.sourceTopic]: source.topic,
      [DeadLetterHeaders.sourcePartition]: '2',
      [DeadLetterHeaders.sourceOffset]: '42',
      [DeadLetterHeaders.payloadTruncated]: 'true',
      [DeadLetterHeaders.payloadBytes]: '5000',
      [DeadLetterHeaders.payloadSha256]: createHash('sha256').update(raw).digest('hex'),
    });
    const small = deadLetterMessage(
      source,
      { offset: '1', reason: 'r', raw: Buffer.from('ok') },
      { maxReasonChars: 100, payloadCap: 1_000 },
    );
    assert.equal(small.headers?.[DeadLetterHeaders.payloadTruncated], undefined);
  });

  it('splitBySize keeps order and never exceeds the budget, except an item alone', () => {
    const sizes = [40, 40, 40, 150, 10, 10];
    const parts = splitBySize(sizes, (n) => n, 100);
    assert.deepEqual(parts, [[40, 40], [40], [150], [10, 10]]);
  });

  it('isTooLarge finds MESSAGE_TOO_LARGE through wrapping errors', () => {
    const inner = Object.assign(new Error('x'), { type: 'MESSAGE_TOO_LARGE' });
    assert.ok(isTooLarge(new Error('wrapped', { cause: inner })));
    assert.ok(!isTooLarge(new Error('Connection timeout')));
  });

  it('a burst is sent in requests that fit; a request the topic finds too large is halved; one dead letter too large is cut further', async () => {
    const producer = sizeLimitedProducer(20_000);
    const sender = new DeadLetterSender(producer, 'dead-letters', {
      maxRequestBytes: 50_000,
      maxPayloadBytes: 40_000,
      maxReasonChars: 200,
    });
    const inputs = Array.from({ length: 100 }, (_, i) => ({ offset: String(i), reason: 'malformed JSON', raw: Buffer.alloc(2_000, 120) }));
    inputs.splice(50, 0, { offset: 'big', reason: 'malformed JSON', raw: Buffer.alloc(900_000, 121) });
    const { requests } = await sender.send(source, inputs);
    const sent = producer.requests.flat();
    assert.equal(requests, producer.requests.length);
    assert.deepEqual(
      sent.map((m) => m.headers?.[DeadLetterHeaders.sourceOffset]),
      inputs.map((d) => d.offset),
      'each once, in order',
    );
    for (const request of producer.requests) assert.ok(request.reduce((n, m) => n + estimatedBytes(m), 0) <= 20_000);
    const big = sent.find((m) => m.headers?.[DeadLetterHeaders.sourceOffset] === 'big');
    assert.equal(big?.headers?.[DeadLetterHeaders.payloadBytes], '900000');
    assert.ok(((big?.value as Buffer | undefined)?.length ?? Infinity) <= 20_000);
  });

  it('a topic that refuses even an empty dead letter, or keeps failing, throws DeadLettersRefused after a few tries', async () => {
    const tiny = new DeadLetterSender(sizeLimitedProducer(10), 'dead-letters');
    await assert.rejects(
      tiny.send(source, [{ offset: '7', reason: 'bad', raw: Buffer.alloc(100_000) }]),
      (error: Error) => error instanceof DeadLettersRefused && /refuses even a dead letter without payload \(offset 7/.test(error.message),
    );
    let tries = 0;
    let heartbeats = 0;
    const down: EventProducer = {
      connect: async () => undefined,
      disconnect: async () => undefined,
      sendBatch: async () => undefined,
      send: async () => {
        tries++;
        throw new Error('This server does not host this topic-partition');
      },
    };
    const failing = new DeadLetterSender(down, 'dead-letters', undefined, { attempts: 3 });
    await assert.rejects(
      failing.send(source, [{ offset: '1', reason: 'bad', raw: null }], async () => {
        heartbeats++;
      }),
      /failed 3 times: This server does not host/,
    );
    assert.equal(tries, 3);
    assert.equal(heartbeats, 2, 'a heartbeat between tries');
  });
});
