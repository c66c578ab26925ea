/**
 * Fault: a batch run killed with SIGKILL while a job is running, then run again. The job's work
 * and its 'succeeded' record commit in one transaction, so the kill leaves the last good
 * warehouse; the rerun marks the orphaned run failed and does the work once.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pollUntil, privateStack } from './harness.ts';
import { describeReconciliation, reconcile } from './reconcile.ts';
import { recordReconciled, sendAndSave, withScenario } from './steps.ts';

const stack = privateStack();

describe('fault: kill -9 a batch job mid-run, rerun it', { timeout: 300_000 }, () => {
  it('the killed run leaves no partial facts; the rerun loads every event once', async () => {
    await withScenario(stack, 'batch_kill', async (scenario) => {
      const { expected } = await sendAndSave(scenario, { seed: 1206, count: 12_000 });
      const batch = scenario.startBatch();
      const running = await pollUntil(
        async () => (await scenario.warehouse.query<{ job_name: string }>("select job_name from job_runs where status = 'running'")).rows,
        (rows) => rows.some((r) => r.job_name === 'facts' || r.job_name === 'dimensions'),
        120_000,
        20,
      );
      batch.child.kill('SIGKILL');
      assert.equal((await batch.exited).signal, 'SIGKILL');
      const killedIn = running.map((r) => r.job_name).join(', ');
      const { rows: left } = await scenario.warehouse.query<{ facts: number; succeeded: string }>(
        `select (select count(*)::int from fact_product_views) + (select count(*)::int from fact_sales) + (select count(*)::int from fact_cart_events) as facts,
                (select coalesce(string_agg(job_name, ',' order by run_id), '') from job_runs where status = 'succeeded') as succeeded`,
      );
      const factsAfterKill = left[0]?.facts ?? -1;
      assert.equal(factsAfterKill, 0, 'the killed run committed no facts');
      const rerun = Date.now();
      const result = await reconcile(scenario, expected);
      const recoverySeconds = (Date.now() - rerun) / 1000;
      const { rows: runs } = await scenario.warehouse.query<{ job_name: string; status: string; error: string | null }>(
        "select job_name, status, error from job_runs where job_name in ('dimensions', 'facts') order by run_id",
      );
      const orphans = runs.filter((r) => r.status === 'failed');
      assert.ok(orphans.length >= 1, `the killed run is marked failed (${JSON.stringify(runs)})`);
      assert.equal(runs.filter((r) => r.status === 'running').length, 0, 'no run left running');
      recordReconciled(stack, result, {
        fault: 'kill -9 a batch job mid-run, rerun',
        sent: expected.messages,
        before: `killed in ${killedIn}; facts after the kill: ${factsAfterKill}; succeeded before: ${left[0]?.succeeded || 'none'}`,
        after: `${orphans.length} orphaned run(s) marked failed; ${describeReconciliation(result)}`,
        recoverySeconds,
        note: 'SIGKILL of `lambdamart batch run` once dimensions or facts is running; time of the rerun',
      });
    });
  });
});
