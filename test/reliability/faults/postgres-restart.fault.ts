/**
 * Fault: PostgreSQL stopped like a crash (pg_ctlcluster stop -m immediate: no checkpoint, every
 * connection cut) mid-stream, started again a few seconds later. The savers wait for it with
 * backoff and save the batches they held once it is back; the uncommitted ones are redone.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { crashPostgres, privateStack, sleep, startPostgres } from './harness.ts';
import { describeCounts, describeReconciliation, reconcile, savedCounts, totalSaved } from './reconcile.ts';
import { assertStillRunning, recordReconciled, streamUntilShareSaved, waitForSaversSince, withScenario } from './steps.ts';

const stack = privateStack();

describe('fault: restart PostgreSQL mid-stream', { timeout: 300_000 }, () => {
  it('the savers wait and resume; every event saved once; the warehouse reconciles', async () => {
    await withScenario(
      stack,
      'pg_restart',
      async (scenario) => {
        const { expected, want, saver, stream } = await streamUntilShareSaved(scenario, { seed: 1204, count: 8000, share: 0.25 });
        const before = await savedCounts(scenario);
        await crashPostgres(stack);
        await sleep(5000);
        await startPostgres(stack);
        const back = Date.now();
        const { counts, recoverySeconds } = await waitForSaversSince(scenario, expected, back);
        await stream;
        assert.ok(totalSaved(before) < want, `crashed mid-stream (${totalSaved(before)} of ${want})`);
        assertStillRunning(saver);
        const result = await reconcile(scenario, expected);
        recordReconciled(stack, result, {
          fault: 'restart PostgreSQL mid-stream',
          sent: expected.messages,
          before: `${totalSaved(before)}/${want} when stopped (${describeCounts(before)})`,
          after: `${totalSaved(counts)}/${want}; same saver process; ${describeReconciliation(result)}`,
          recoverySeconds,
          note: 'pg_ctlcluster stop -m immediate, down 5 s, start; time from PostgreSQL accepting connections',
        });
      },
      { restore: () => startPostgres(stack).catch(() => undefined) },
    );
  });
});
