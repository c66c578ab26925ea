/**
 * Fault: a burst of oversize and invalid messages, large enough that their dead letters (payload
 * plus headers) exceed the broker's message size, between valid events. The source topics accept
 * messages up to 3 MB (max.message.bytes), the dead-letter topic keeps the broker's default
 * (about 1 MB): the savers must split, cut and still record every one, and keep saving.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expect, expectedSaved, makeEvents, type OutgoingLine, produceWithKcat } from './events.ts';
import { privateStack } from './harness.ts';
import { describeCounts, describeReconciliation, reconcile, savedCounts, totalSaved, untilSaved } from './reconcile.ts';
import { assertStillRunning, recordReconciled, waitForSaversSince, withScenario } from './steps.ts';

const stack = privateStack();

/** Invalid payloads of 0.3 to 2.5 MB: JSON with a huge field, and not JSON at all. */
function oversizeBurst(count: number): OutgoingLine[] {
  const topics = ['transactions-topic', 'product-views-topic', 'cart-events-topic'];
  return Array.from({ length: count }, (_, i) => {
    const size = [300_000, 1_000_000, 1_040_000, 2_500_000][i % 4] as number;
    const value =
      i % 2 === 0 ? JSON.stringify({ event_id: `not-a-uuid-${i}`, padding: 'x'.repeat(size) }) : `{"truncated": "${'y'.repeat(size)}`;
    return { topic: topics[i % 3] as string, key: `burst-${i}`, value };
  });
}

describe('fault: a burst of oversize invalid messages', { timeout: 300_000 }, () => {
  it('every one dead-lettered, the savers keep going, the valid events reconcile', async () => {
    await withScenario(
      stack,
      'oversize',
      async (scenario) => {
        const { lines, expected } = makeEvents({ seed: 1209, count: 6000 });
        const burst = oversizeBurst(40);
        for (const line of burst) expect(expected, line, null);
        const half = Math.floor(lines.length / 2);
        const saver = scenario.spawnSaver();
        await produceWithKcat(scenario, lines.slice(0, half));
        await untilSaved(scenario, half * 0.9, 100);
        const started = Date.now();
        await produceWithKcat(scenario, burst, { maxMessageBytes: 3_000_000 });
        const before = await savedCounts(scenario);
        await produceWithKcat(scenario, lines.slice(half));
        const { counts, recoverySeconds } = await waitForSaversSince(scenario, expected, started);
        assertStillRunning(saver);
        const dlqTopic = await scenario.messagesIn('dead-letters');
        assert.equal(dlqTopic, expected.invalid.length, 'one message per dead letter in the dead-letter topic');
        const { rows } = await scenario.realtime.query<{ n: number; max: number }>(
          "select count(*)::int as n, max(length(payload))::int as max from dead_letters where message_key like 'burst-%'",
        );
        assert.equal(rows[0]?.n, burst.length, 'every oversize message in dead_letters');
        const result = await reconcile(scenario, expected);
        recordReconciled(stack, result, {
          fault: 'burst of oversize invalid messages',
          sent: expected.messages,
          before: `${burst.length} messages of 0.3-2.5 MB (${(burst.reduce((n, l) => n + l.value.length, 0) / 1e6).toFixed(0)} MB) amid ${lines.length}; ${totalSaved(before)}/${expectedSaved(expected)} saved when the burst was in (${describeCounts(before)})`,
          after: `${totalSaved(counts)}/${expectedSaved(expected)}; ${rows[0]?.n} burst rows in dead_letters (largest payload ${rows[0]?.max} chars), ${dlqTopic} messages in the DLQ topic; ${describeReconciliation(result)}`,
          recoverySeconds,
          note: 'source topics max.message.bytes 3 MB, dead-letter topic the default 1 MB; time from the burst to all saved',
        });
      },
      { topicConfig: { 'max.message.bytes': '3000000' } },
    );
  });
});
