/**
 * quality: the checks of warehouse/sql/models/checks, each a query selecting the offending rows.
 * Every result is recorded in data_quality_results (outside the job's transaction, so a failing
 * run keeps them); a failing check fails the run with its name and a sample of the rows.
 */
import { listModels, loadModel } from '@lambdamart/warehouse';
import type { JobDefinition } from '../job.ts';
import { stageRaw } from '../staging.ts';

const sampleSize = 5;
const revenueWindowMs = 24 * 3600_000;

export class DataQualityError extends Error {
  constructor(readonly failures: { check: string; failingRows: number; sample: unknown[] }[]) {
    super(
      failures
        .map((f) => `data-quality check ${f.check} failed: ${f.failingRows} offending row(s), e.g. ${JSON.stringify(f.sample.slice(0, 3))}`)
        .join('; '),
    );
    this.name = 'DataQualityError';
  }
}

export const qualityJob: JobDefinition = {
  name: 'quality',
  description: 'unique and not-null keys, facts have dimension rows, fact revenue = raw revenue, one current row',
  dependsOn: ['facts', 'analytics'],
  async run(ctx) {
    const { wh, rt, options } = ctx;
    // Raw orders to reconcile: the last day of what the facts job has loaded (all of it on a full refresh).
    const loadedUpTo = await ctx.watermarkOf('facts');
    const window = {
      since: loadedUpTo && !options.fullRefresh ? new Date(loadedUpTo.getTime() - revenueWindowMs).toISOString() : '-infinity',
      // +1 ms: the watermark went through a JS Date, which drops the microseconds.
      until: loadedUpTo ? new Date(loadedUpTo.getTime() + 1).toISOString() : '-infinity',
      fromTs: options.from ? `${options.from}T00:00:00Z` : '-infinity',
      toTs: 'infinity',
    };
    const staged = await stageRaw(rt, wh, ['transactions'], window);

    const failures: DataQualityError['failures'] = [];
    const checks = await listModels('checks');
    for (const check of checks) {
      const sql = await loadModel(check);
      const name = check.slice('checks/'.length);
      const { rows } = await wh.query<{ n: number }>(`select count(*)::bigint as n from (${sql}) offending`);
      const failingRows = rows[0]?.n ?? 0;
      const sample = failingRows ? (await wh.query(`select * from (${sql}) offending limit ${sampleSize}`)).rows : [];
      await ctx.recordOutside(
        `insert into data_quality_results (run_id, check_name, passed, failing_rows, sample) values ($1, $2, $3, $4, $5)`,
        [ctx.runId, name, failingRows === 0, failingRows, JSON.stringify(sample)],
      );
      if (failingRows) failures.push({ check: name, failingRows, sample });
    }
    if (failures.length) throw new DataQualityError(failures);
    return { rowsIn: staged.transactions, rowsOut: checks.length, details: { checks: checks.length } };
  },
};
