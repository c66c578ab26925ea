import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseEvent } from '@lambdamart/core';
import { generateEvents } from './generate.ts';
import type { GeneratedEvent } from './generated-event.ts';
import { sendEvents } from './send.ts';

describe('sendEvents', () => {
  it('counts the invalid events (what the speed layer dead-letters) apart from the valid but unusual ones', async () => {
    const sent: { event: GeneratedEvent; value: string }[] = [];
    const sink = {
      async write(events: GeneratedEvent[], values: string[]) {
        events.forEach((event, i) => {
          sent.push({ event, value: values[i] as string });
        });
      },
    };
    const events = generateEvents({ seed: 3, start: Date.parse('2025-11-01T00:00:00Z'), days: 1, eventsPerDay: 20_000, badRate: 0.05 });
    const summary = await sendEvents(sink, events, { rate: 'max' });

    // The speed layer's first two steps: parse the JSON, check the contract (core's parseEvent).
    let deadLettered = 0;
    let validButMarked = 0;
    for (const { event, value } of sent) {
      if (event.kind === 'catalog') continue;
      const valid = parseEvent(event.kind, value).ok;
      if (!valid) deadLettered++;
      else if (event.bad !== undefined) validButMarked++;
    }
    assert.ok(deadLettered > 200 && validButMarked > 50, `${deadLettered} invalid, ${validButMarked} unusual`);
    assert.equal(summary.invalidTotal, deadLettered, 'invalid = what the dead letters will hold');
    assert.equal(summary.unusualTotal, validButMarked, 'unknown products and redeliveries are valid events');
    assert.equal(
      Object.values(summary.invalid).reduce((a, b) => a + b, 0),
      summary.invalidTotal,
    );
    assert.ok(summary.unusual.unknown_product > 0 && summary.unusual.duplicate_id > 0, JSON.stringify(summary.unusual));
  });

  it("gives a sink that takes bytes each event's serialized payload as UTF-8, the same events in the same batches", async () => {
    const options = { seed: 5, start: Date.parse('2025-11-01T00:00:00Z'), days: 1, eventsPerDay: 5_000, badRate: 0.05 };
    const collect = (bytes: boolean) => {
      const batches: { events: GeneratedEvent[]; values: (string | Buffer)[] }[] = [];
      const sink = {
        bytes,
        async write(events: readonly GeneratedEvent[], values: readonly (string | Buffer)[]) {
          batches.push({ events: [...events], values: [...values] });
        },
      };
      return { batches, sink };
    };
    const asText = collect(false);
    const asBytes = collect(true);
    const textSummary = await sendEvents(asText.sink, generateEvents(options), { rate: 'max', batchSize: 700 });
    const bytesSummary = await sendEvents(asBytes.sink, generateEvents(options), { rate: 'max', batchSize: 700 });

    assert.ok(asBytes.batches.length > 5);
    assert.deepEqual(
      asBytes.batches.map((b) => b.events.length),
      asText.batches.map((b) => b.events.length),
    );
    const texts = asText.batches.flatMap((b) => b.values);
    const bytes = asBytes.batches.flatMap((b) => b.values);
    assert.ok(texts.every((v) => typeof v === 'string'));
    assert.ok(bytes.every((v) => Buffer.isBuffer(v)));
    assert.deepEqual(
      bytes.map((v) => v.toString()),
      texts,
    );
    assert.equal(bytesSummary.sent, textSummary.sent);
    assert.equal(
      bytesSummary.bytes,
      texts.reduce((sum, v) => sum + Buffer.byteLength(v), 0),
      'bytes counts what Kafka is given',
    );
  });
});
