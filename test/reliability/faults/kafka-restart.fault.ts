/**
 * Fault: the broker stopped and started again mid-stream (infra/kafka/kafka.sh stop, start: the
 * private broker). The savers reconnect and resume from the offsets stored in PostgreSQL. The
 * stream pauses across the restart: kcat ends itself once every broker is down ("All broker
 * connections are down"), so the first half is produced before the stop, the second after.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expectedSaved, makeEvents, produceWithKcat } from './events.ts';
import { privateStack, startKafka, stopKafka } from './harness.ts';
import { describeCounts, describeReconciliation, reconcile, savedCounts, totalSaved } from './reconcile.ts';
import { assertStillRunning, recordReconciled, waitForSaversSince, withScenario } from './steps.ts';

const stack = privateStack();

describe('fault: restart Kafka mid-stream', { timeout: 400_000 }, () => {
  it('the savers resume after the broker comes back; every event saved once; the warehouse reconciles', async () => {
    await withScenario(
      stack,
      'kafka_restart',
      async (scenario) => {
        const { lines, expected } = makeEvents({ seed: 1203, count: 8000 });
        const want = expectedSaved(expected);
        const saver = scenario.spawnSaver();
        const half = Math.floor(lines.length / 2);
        await produceWithKcat(scenario, lines.slice(0, half), { overMs: 5000 });
        const stopped = Date.now();
        await stopKafka(stack);
        const before = await savedCounts(scenario);
        const downSeconds = (Date.now() - stopped) / 1000;
        assert.ok(totalSaved(before) < want, `stopped mid-stream (${totalSaved(before)} of ${want})`);
        await startKafka(stack);
        const back = Date.now();
        await produceWithKcat(scenario, lines.slice(half), { overMs: 5000 });
        const { counts, recoverySeconds } = await waitForSaversSince(scenario, expected, back);
        assertStillRunning(saver);
        const result = await reconcile(scenario, expected);
        recordReconciled(stack, result, {
          fault: 'restart Kafka mid-stream',
          sent: expected.messages,
          before: `${totalSaved(before)}/${want} when stopped (${describeCounts(before)})`,
          after: `${totalSaved(counts)}/${want}; same saver process; ${describeReconciliation(result)}`,
          recoverySeconds,
          note: `kafka.sh stop (SIGTERM, ${downSeconds.toFixed(1)} s) then start; second half sent after it; time from the broker answering again`,
        });
      },
      { restore: () => startKafka(stack).catch(() => undefined) },
    );
  });
});
