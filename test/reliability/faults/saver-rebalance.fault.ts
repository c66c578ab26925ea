/**
 * Fault: two savers in one consumer group, one killed with SIGKILL mid-stream. The group notices
 * the dead member when its session times out, rebalances, and the survivor takes its partitions
 * from the offsets stored in PostgreSQL: nothing lost, nothing twice.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expectedSaved, makeEvents, produceWithKcat } from './events.ts';
import { type Child, pollUntil, privateStack } from './harness.ts';
import { describeCounts, describeReconciliation, reconcile, savedCounts, totalSaved, untilSaved } from './reconcile.ts';
import { recordReconciled, waitForSaversSince, withScenario } from './steps.ts';

const stack = privateStack();

/** The partitions a saver holds now: from its latest "joined the group" log line. */
function assignedPartitions(saver: Child): number {
  const lines = saver
    .output()
    .split('\n')
    .filter((l) => l.includes('"joined the group"'));
  const last = lines.at(-1);
  if (!last) return 0;
  const { assignment } = JSON.parse(last) as { assignment?: Record<string, number[]> };
  return Object.values(assignment ?? {}).flat().length;
}

describe('fault: two savers in one group, one killed (rebalance)', { timeout: 300_000 }, () => {
  it("the survivor takes over the dead saver's partitions; every event saved once; the warehouse reconciles", async () => {
    await withScenario(stack, 'rebalance', async (scenario) => {
      const { lines, expected } = makeEvents({ seed: 1202, count: 8000 });
      const want = expectedSaved(expected);
      const one = scenario.spawnSaver('shared');
      const two = scenario.spawnSaver('shared');
      const split = await pollUntil(
        async () => [assignedPartitions(one), assignedPartitions(two)],
        ([a = 0, b = 0]) => a > 0 && b > 0 && a + b === 12,
        90_000,
        250,
      );
      assert.ok((split[0] ?? 0) > 0 && (split[1] ?? 0) > 0, `both savers hold partitions (${split.join(' + ')} of 12)`);
      const stream = produceWithKcat(scenario, lines, { overMs: 10_000 });
      await untilSaved(scenario, want * 0.25);
      two.child.kill('SIGKILL');
      const killed = Date.now();
      await two.exited;
      const before = await savedCounts(scenario);
      const { counts, recoverySeconds } = await waitForSaversSince(scenario, expected, killed);
      await stream;
      assert.equal(assignedPartitions(one), 12, 'the survivor holds every partition');
      const result = await reconcile(scenario, expected);
      recordReconciled(stack, result, {
        fault: 'two savers in one group, one killed (rebalance)',
        sent: expected.messages,
        before: `${totalSaved(before)}/${want} at kill (${describeCounts(before)}); partitions ${split.join(' + ')}`,
        after: `${totalSaved(counts)}/${want}; survivor holds 12 partitions; ${describeReconciliation(result)}`,
        recoverySeconds,
        note: 'SIGKILL of one of two members; session timeout 10 s, then rebalance; time from the kill',
      });
    });
  });
});
