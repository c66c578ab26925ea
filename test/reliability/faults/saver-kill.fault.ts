/**
 * Fault: a saver killed with SIGKILL mid-stream (no shutdown hook runs), restarted a moment later.
 * The rows and the offsets commit in one transaction, so the restarted saver resumes exactly where
 * the last commit left off: nothing lost, nothing twice.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { privateStack, sleep } from './harness.ts';
import { describeCounts, describeReconciliation, reconcile, savedCounts, totalSaved } from './reconcile.ts';
import { recordReconciled, streamUntilShareSaved, waitForSaversSince, withScenario } from './steps.ts';

const stack = privateStack();

describe('fault: kill -9 a saver mid-stream', { timeout: 300_000 }, () => {
  it('the restarted saver saves every event exactly once; the warehouse reconciles to the cent', async () => {
    await withScenario(stack, 'saver_kill', async (scenario) => {
      const { expected, want, saver, stream } = await streamUntilShareSaved(scenario, { seed: 1201, count: 8000, share: 0.2 });
      saver.child.kill('SIGKILL');
      assert.equal((await saver.exited).signal, 'SIGKILL');
      const before = await savedCounts(scenario);
      assert.ok(totalSaved(before) < want, `killed mid-stream (${totalSaved(before)} of ${want} saved)`);
      await stream;
      await sleep(1000);
      // Transactions the saver had sent whole (COMMIT included) still commit after its death.
      const beforeRestart = await savedCounts(scenario);
      assert.ok(totalSaved(beforeRestart) < want, `work left for the restarted saver (${totalSaved(beforeRestart)} of ${want})`);
      const restarted = Date.now();
      scenario.spawnSaver();
      const { counts, recoverySeconds } = await waitForSaversSince(scenario, expected, restarted);
      const result = await reconcile(scenario, expected);
      recordReconciled(stack, result, {
        fault: 'kill -9 a saver mid-stream',
        sent: expected.messages,
        before: `${totalSaved(before)}/${want} at kill (${describeCounts(before)}), ${totalSaved(beforeRestart)} at restart`,
        after: `${totalSaved(counts)}/${want}; ${describeReconciliation(result)}`,
        recoverySeconds,
        note: 'SIGKILL, restarted 1 s after the stream ended',
      });
    });
  });
});
