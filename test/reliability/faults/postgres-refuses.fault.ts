/**
 * Fault: PostgreSQL refusing writes for a while, as a full disk does. Stand-in: a trigger on every
 * table the savers write that raises SQLSTATE 53100 (disk_full) with PostgreSQL's own message for
 * a full disk. Why this and not default_transaction_read_only or a revoked privilege: a full disk
 * fails exactly the writes, on the connections already open, with class 53, while reads and
 * logins go on; read-only mode (25006) only reaches new sessions and a revoke (42501) is a
 * different class of error. The savers must pause and retry, then save everything once.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { privateStack, psqlSuper, sleep } from './harness.ts';
import { describeCounts, describeReconciliation, reconcile, savedCounts, totalSaved } from './reconcile.ts';
import { assertStillRunning, recordReconciled, streamUntilShareSaved, waitForSaversSince, withScenario } from './steps.ts';

const stack = privateStack();
const tables = [
  'transactions',
  'transaction_items',
  'product_view_events',
  'cart_events',
  'product_catalog_events',
  'products',
  'dead_letters',
  'consumer_offsets',
  'speed_minute_metrics',
];

describe('fault: PostgreSQL refusing writes (disk full)', { timeout: 300_000 }, () => {
  it('the savers pause while every write fails with 53100 and save every event once afterwards', async () => {
    await withScenario(stack, 'pg_full', async (scenario) => {
      const { expected, want, saver, stream } = await streamUntilShareSaved(scenario, { seed: 1205, count: 8000, share: 0.2 });
      await psqlSuper(
        stack,
        scenario.databases.realtime,
        `create function disk_full() returns trigger language plpgsql as $$
           begin raise exception using errcode = 'disk_full', message = 'could not extend file "base/16384/16385": No space left on device'; end $$;`,
      );
      // One table per transaction, for the triggers and their drop: one transaction over all the
      // tables takes their locks one by one while a saver's transaction holds one of them (its
      // position row FOR UPDATE) and waits for another: a deadlock (40P01) that failed the fault.
      // Creating a trigger waits for the transactions that wrote its table, so once the last one
      // is in place no saver transaction can commit rows.
      for (const t of tables) {
        await psqlSuper(
          stack,
          scenario.databases.realtime,
          `create trigger disk_full before insert or update on ${t} for each statement execute function disk_full();`,
        );
      }
      const before = await savedCounts(scenario);
      await sleep(8000);
      const during = await savedCounts(scenario);
      assert.equal(totalSaved(during), totalSaved(before), 'nothing saved while the disk is full');
      for (const t of tables) await psqlSuper(stack, scenario.databases.realtime, `drop trigger disk_full on ${t};`);
      const freed = Date.now();
      const { counts, recoverySeconds } = await waitForSaversSince(scenario, expected, freed);
      await stream;
      assert.ok(totalSaved(before) < want, `refused mid-stream (${totalSaved(before)} of ${want})`);
      assertStillRunning(saver);
      assert.match(saver.output(), /No space left on device|53100/, 'the saver says why it waits');
      const result = await reconcile(scenario, expected);
      recordReconciled(stack, result, {
        fault: 'PostgreSQL refusing writes (disk full, 53100)',
        sent: expected.messages,
        before: `${totalSaved(before)}/${want} when writes began to fail (${describeCounts(before)}); ${totalSaved(during)} after 8 s of refusals`,
        after: `${totalSaved(counts)}/${want}; same saver process; ${describeReconciliation(result)}`,
        recoverySeconds,
        note: 'statement trigger raising SQLSTATE 53100 on every table the savers write, 8 s; time from the trigger dropped',
      });
    });
  });
});
