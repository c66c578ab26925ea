/**
 * Fault: PostgreSQL stopped like a crash (pg_ctlcluster stop -m immediate: no checkpoint, every
 * connection cut) mid-stream, started again a few seconds later. The savers wait for it with
 * backoff and save the batches they held once it is back; the uncommitted ones are redone.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expectedSaved, makeEvents, produceWithKcat } from './events.ts';
import { crashPostgres, pollUntil, privateStack, recordFigures, Scenario, sleep, startPostgres } from './harness.ts';
import { describeCounts, describeReconciliation, reconcile, savedCounts, totalSaved, waitForSavers } from './reconcile.ts';

const stack = privateStack();

describe('fault: restart PostgreSQL mid-stream', { timeout: 300_000 }, () => {
  it('the savers wait and resume; every event saved once; the warehouse reconciles', async () => {
    const scenario = await Scenario.create(stack, 'pg_restart');
    try {
      const { lines, expected } = makeEvents({ seed: 1204, count: 8000 });
      const want = expectedSaved(expected);
      const saver = scenario.spawnSaver();
      const stream = produceWithKcat(scenario, lines, { overMs: 10_000 });
      await pollUntil(
        () => savedCounts(scenario),
        (c) => totalSaved(c) >= want * 0.25,
        120_000,
        50,
      );
      const before = await savedCounts(scenario);
      await crashPostgres(stack);
      await sleep(5000);
      await startPostgres(stack);
      const back = Date.now();
      const { counts } = await waitForSavers(scenario, expected);
      const recoverySeconds = (Date.now() - back) / 1000 - 1;
      await stream;
      assert.ok(totalSaved(before) < want, `crashed mid-stream (${totalSaved(before)} of ${want})`);
      assert.equal(saver.child.exitCode, null, `the saver is still running (it exited: ${saver.output().slice(-1500)})`);
      const result = await reconcile(scenario, expected);
      recordFigures(stack, {
        fault: 'restart PostgreSQL mid-stream',
        sent: expected.messages,
        before: `${totalSaved(before)}/${want} when stopped (${describeCounts(before)})`,
        after: `${totalSaved(counts)}/${want}; same saver process; ${describeReconciliation(result)}`,
        recoverySeconds,
        reconcile: result.problems.length ? result.problems.join('; ') : 'ok',
        note: 'pg_ctlcluster stop -m immediate, down 5 s, start; time from PostgreSQL accepting connections',
      });
      assert.deepEqual(result.problems, [], describeReconciliation(result));
    } finally {
      await startPostgres(stack).catch(() => undefined);
      await scenario.close();
      await scenario.dropDatabases();
    }
  });
});
