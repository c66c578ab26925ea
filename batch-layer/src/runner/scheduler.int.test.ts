import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '@lambdamart/core';
import { addCatalog, addOrder, withBatchDatabases } from '../testing/fixtures.ts';
import { startScheduler } from './scheduler.ts';

describe('scheduler', () => {
  it('runs every job at start-up; stop() waits for the running job to finish', async () => {
    await withBatchDatabases('sched', async ({ config, rt, wh }) => {
      await addCatalog(rt, 'p1', '2025-01-01T00:00:00Z', { price: 1 });
      await addOrder(rt, { user: 'u1', at: '2026-01-01T10:00:00Z', lines: [['p1', 1, 1]] });
      // A cron that will not fire during the test: only the start-up run happens.
      const scheduled = loadConfig({
        REALTIME_DATABASE_URL: config.realtimeDatabaseUrl,
        WAREHOUSE_DATABASE_URL: config.warehouseDatabaseUrl,
        LAKE_DIR: config.lakeDir,
        BATCH_CRON: '0 0 1 1 *',
        LOG_LEVEL: 'silent',
      });
      const scheduler = await startScheduler(scheduled, { runAtStart: true });
      await new Promise((r) => setTimeout(r, 300));
      await scheduler.stop();
      const { rows } = await wh.query(`select job_name, status, triggered_by from job_runs order by run_id`);
      assert.ok(rows.length >= 1, 'the start-up run began before stop()');
      assert.ok(rows.length < 5, 'no job starts after stop()');
      assert.ok(
        rows.every((r) => r.status !== 'running' && r.triggered_by === 'schedule'),
        'nothing is left running after stop()',
      );
    });
  });
});
