/**
 * Data-quality checks: queries selecting the offending rows (warehouse/sql/models/checks), run
 * by the jobs, each result recorded in data_quality_results outside the job's transaction (a
 * failing run keeps it).
 *
 * Severity (migration 0008): the checks in `publicationGuards` stop bad data. The facts job runs
 * them over what it wrote, in its transaction, before it commits: a failure rolls the run back,
 * so the last good warehouse stays published ('error'). The quality job runs every check after
 * publication, over what changed since its last passing run: it fails on a guard and records
 * the other checks as warnings.
 */
import { loadModel } from '@lambdamart/warehouse';
import type { JobContext } from './job.ts';

export type CheckSeverity = 'error' | 'warning';

/**
 * The checks whose failure means the warehouse must not be published: a fact counted twice or
 * pointing at no dimension row, revenue that is not the raw revenue, a natural key with other
 * than one current version (facts would join it twice or never).
 */
export const publicationGuards: readonly string[] = [
  'fact_sales_unique_event_id',
  'fact_product_views_unique_event_id',
  'fact_cart_events_unique_event_id',
  'facts_have_dimension_rows',
  'fact_revenue_matches_raw',
  'dimensions_one_current_row',
];

export const severityOf = (check: string): CheckSeverity => (publicationGuards.includes(check) ? 'error' : 'warning');

export interface CheckFailure {
  check: string;
  severity: CheckSeverity;
  failingRows: number;
  sample: unknown[];
}

export class DataQualityError extends Error {
  constructor(readonly failures: CheckFailure[]) {
    super(
      failures
        .map((f) => `data-quality check ${f.check} failed: ${f.failingRows} offending row(s), e.g. ${JSON.stringify(f.sample.slice(0, 3))}`)
        .join('; '),
    );
    this.name = 'DataQualityError';
  }
}

const sampleSize = 5;

/**
 * Runs the check `name` (the SQL of `model`, by default checks/<name>) in the job's transaction;
 * records its result outside it, a pass only with `recordPass`; returns the failure or null.
 */
export async function runCheck(
  ctx: JobContext,
  name: string,
  options: { model?: string; recordPass?: boolean } = {},
): Promise<CheckFailure | null> {
  const sql = await loadModel(options.model ?? `checks/${name}`);
  const { rows } = await ctx.wh.query<{ n: number }>(`select count(*)::bigint as n from (${sql}) offending`);
  const failingRows = Number(rows[0]?.n ?? 0);
  const sample = failingRows ? (await ctx.wh.query(`select * from (${sql}) offending limit ${sampleSize}`)).rows : [];
  const severity = severityOf(name);
  if (failingRows || options.recordPass !== false) {
    await ctx.recordOutside(
      `insert into data_quality_results (run_id, check_name, passed, failing_rows, sample, severity) values ($1, $2, $3, $4, $5, $6)`,
      [ctx.runId, name, failingRows === 0, failingRows, JSON.stringify(sample), severity],
    );
  }
  return failingRows ? { check: name, severity, failingRows, sample } : null;
}
