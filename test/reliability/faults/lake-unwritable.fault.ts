/**
 * Fault: the lake's folder made unwritable while the archive job writes it (chmod -R a-w as soon
 * as the run's _incoming folder appears). The job must fail with a clear error, leave no partial
 * Parquet file where readers look (LAKE_DIR/<dataset>/date=*), and the next run, once the folder
 * is writable again, completes. Root ignores permission bits, so when the suite runs as root the
 * batch process runs without CAP_DAC_OVERRIDE (setpriv): as an ordinary service account would.
 */
import assert from 'node:assert/strict';
import { watch } from 'node:fs';
import { chmod, mkdir, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { withDuckdb } from '@lambdamart/batch-layer';
import { makeEvents, produceWithKcat } from './events.ts';
import { privateStack } from './harness.ts';
import { describeReconciliation, reconcile, untilSaved, waitForSavers } from './reconcile.ts';
import { recordReconciled, withScenario } from './steps.ts';

const stack = privateStack();
const withoutRootOverride =
  process.getuid?.() === 0
    ? ['setpriv', '--bounding-set', '-dac_override,-dac_read_search', '--inh-caps', '-dac_override,-dac_read_search', '--']
    : [];

async function walk(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  return entries.map((e) => join(e.parentPath, e.name));
}

/** Parquet files where readers look: LAKE_DIR/<dataset>/date=*\/*.parquet (not _incoming). */
async function visibleParquet(lake: string): Promise<string[]> {
  return (await walk(lake)).filter((f) => f.endsWith('.parquet') && !f.includes('/_incoming/'));
}

async function setWritable(lake: string, writable: boolean): Promise<void> {
  for (const path of [lake, ...(await walk(lake))]) {
    const s = await stat(path).catch(() => null);
    if (!s) continue;
    await chmod(path, writable ? s.mode | 0o200 : s.mode & ~0o222).catch(() => undefined);
  }
}

describe('fault: the lake made unwritable mid-archive', { timeout: 300_000 }, () => {
  it('the archive fails clearly, no partial Parquet file is visible, the next run completes', async () => {
    await withScenario(
      stack,
      'lake_ro',
      async (scenario) => {
        const lake = scenario.lakeDir;
        const { lines, expected } = makeEvents({ seed: 1208, count: 12_000 });
        scenario.spawnSaver();
        // A first archive puts files in the lake, so the check below sees an unchanged lake, not an empty one.
        const half = Math.floor(lines.length / 2);
        await produceWithKcat(scenario, lines.slice(0, half));
        await untilSaved(scenario, half * 0.9, 100);
        await scenario.runBatch(['archive']);
        await produceWithKcat(scenario, lines.slice(half));
        await waitForSavers(scenario, expected);
        const incoming = join(lake, '_incoming');
        await mkdir(incoming, { recursive: true });
        const filesBefore = await visibleParquet(lake);
        assert.ok(filesBefore.length > 0, 'the first archive wrote files');
        let struck = 0;
        const watcher = watch(incoming, () => {
          if (struck) return;
          struck = Date.now();
          void setWritable(lake, false);
        });
        const batch = scenario.startBatch(['archive'], { prefix: withoutRootOverride });
        const { code } = await batch.exited;
        watcher.close();
        await setWritable(lake, true);
        const output = batch.output();
        assert.ok(struck > 0, 'the fault struck during the archive');
        assert.equal(code, 1, `the archive fails (exit ${code}): ${output.slice(-1500)}`);
        const error = /archive\s+failed[^\n]*/.exec(output)?.[0] ?? '';
        assert.match(error, /EACCES|permission denied/i, `a clear error naming the cause: ${output.slice(-1500)}`);
        // The write that failed, not the clean-up of _incoming after it (which fails too, on the same folder).
        assert.doesNotMatch(error, /rmdir|unlink/, `the error is the archive's own, not the clean-up's: ${error}`);
        const filesAfterFailure = await visibleParquet(lake);
        assert.deepEqual(filesAfterFailure, filesBefore, 'no Parquet file appeared where readers look');
        const { rows: runs } = await scenario.warehouse.query<{ status: string; error: string }>(
          "select status, error from job_runs where job_name = 'archive' order by run_id",
        );
        assert.equal(runs.at(-1)?.status, 'failed');
        const rerun = Date.now();
        const result = await reconcile(scenario, expected);
        const recoverySeconds = (Date.now() - rerun) / 1000;
        // The lake now holds every realtime row of each dataset (a reader keeps one row per key).
        const lakeViews = await withDuckdb(async (duck) => {
          const reader = await duck.runAndReadAll(
            `select count(distinct event_id)::int as n from read_parquet('${join(lake, 'product_views', '*', '*.parquet')}')`,
          );
          return Number(reader.getRowObjects()[0]?.n);
        });
        assert.equal(lakeViews, expected.viewIds.size, 'every view archived after the rerun');
        recordReconciled(stack, result, {
          fault: 'lake folder unwritable mid-archive',
          sent: expected.messages,
          before: `archive exit ${code}: "${error.slice(0, 160)}"; visible Parquet files ${filesBefore.length} -> ${filesAfterFailure.length}`,
          after: `rerun archived ${lakeViews} distinct views (of ${expected.viewIds.size}); ${describeReconciliation(result)}`,
          recoverySeconds,
          note: `chmod -R a-w ${struck ? 'on the first _incoming entry' : ''}, batch without CAP_DAC_OVERRIDE; time of the rerun`,
        });
      },
      { restore: (scenario) => setWritable(scenario.lakeDir, true) },
    );
  });
});
