/**
 * Fault: the broker stopped and started again mid-stream (infra/kafka/kafka.sh stop, start: the
 * private broker). The savers reconnect and resume from the offsets stored in PostgreSQL. The
 * stream pauses across the restart: kcat ends itself once every broker is down ("All broker
 * connections are down"), so the first half is produced before the stop, the second after.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expectedSaved, makeEvents, produceWithKcat } from './events.ts';
import { privateStack, recordFigures, Scenario, startKafka, stopKafka } from './harness.ts';
import { describeCounts, describeReconciliation, reconcile, savedCounts, totalSaved, waitForSavers } from './reconcile.ts';

const stack = privateStack();

describe('fault: restart Kafka mid-stream', { timeout: 400_000 }, () => {
  it('the savers resume after the broker comes back; every event saved once; the warehouse reconciles', async () => {
    const scenario = await Scenario.create(stack, 'kafka_restart');
    try {
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
      const { counts } = await waitForSavers(scenario, expected);
      const recoverySeconds = (Date.now() - back) / 1000 - 1;
      assert.equal(saver.child.exitCode, null, `the saver is still running (it exited: ${saver.output().slice(-1500)})`);
      const result = await reconcile(scenario, expected);
      recordFigures(stack, {
        fault: 'restart Kafka mid-stream',
        sent: expected.messages,
        before: `${totalSaved(before)}/${want} when stopped (${describeCounts(before)})`,
        after: `${totalSaved(counts)}/${want}; same saver process; ${describeReconciliation(result)}`,
        recoverySeconds,
        reconcile: result.problems.length ? result.problems.join('; ') : 'ok',
        note: `kafka.sh stop (SIGTERM, ${downSeconds.toFixed(1)} s) then start; second half sent after it; time from the broker answering again`,
      });
      assert.deepEqual(result.problems, [], describeReconciliation(result));
    } finally {
      await startKafka(stack).catch(() => undefined);
      await scenario.close();
      await scenario.dropDatabases();
    }
  });
});
