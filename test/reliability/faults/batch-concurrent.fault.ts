/**
 * Fault: two batch triggers at once (two `lambdamart batch run` processes started together). A
 * job runs under an advisory lock: the second trigger is refused with a clear message (or runs
 * after the first), and the warehouse holds every event once.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { privateStack, recordFigures } from './harness.ts';
import { describeReconciliation, reconcile } from './reconcile.ts';
import { sendAndSave, withScenario } from './steps.ts';

const stack = privateStack();

describe('fault: two batch triggers at once', { timeout: 300_000 }, () => {
  it('one runs, the other is refused by name (or runs after it); every event loaded once', async () => {
    await withScenario(stack, 'batch_twice', async (scenario) => {
      const { expected } = await sendAndSave(scenario, { seed: 1207, count: 8000 });
      const started = Date.now();
      const a = scenario.startBatch();
      const b = scenario.startBatch();
      const [ea, eb] = await Promise.all([a.exited, b.exited]);
      const seconds = (Date.now() - started) / 1000;
      const outcomes = [ea.code, eb.code];
      assert.ok(outcomes.includes(0), `at least one trigger succeeds (${a.output().slice(-800)} ${b.output().slice(-800)})`);
      const refused = [a, b].filter((_, i) => outcomes[i] !== 0);
      for (const r of refused) assert.match(r.output(), /already running|cannot start: another trigger/, 'the refusal says why');
      const result = await reconcile(scenario, expected, { batch: false });
      const afterRerun = await reconcile(scenario, expected);
      recordFigures(stack, {
        fault: 'two batch triggers at once',
        sent: expected.messages,
        before: `exit codes ${outcomes.join(' and ')}; ${refused.length} refused: ${refused.map((r) => /batch job \w+ [^;\n]*/.exec(r.output())?.[0] ?? '?').join(' | ')}`,
        after: `${describeReconciliation(result)}; a third run changes nothing: ${afterRerun.problems.length ? afterRerun.problems.join('; ') : 'ok'}`,
        recoverySeconds: seconds,
        reconcile: [...result.problems, ...afterRerun.problems].join('; ') || 'ok',
        note: 'two `lambdamart batch run` started together; time until both exited',
      });
      assert.deepEqual(result.problems, [], describeReconciliation(result));
      assert.deepEqual(afterRerun.problems, [], describeReconciliation(afterRerun));
    });
  });
});
