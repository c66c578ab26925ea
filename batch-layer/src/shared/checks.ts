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
import { LambdamartError } from '@lambdamart/core';
import { listModels, loadModel, type ModelParams, readModel } from '@lambdamart/warehouse';
import type { JobContext } from '../runner/job.ts';
import { factTables } from './fact-tables.ts';

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

/** Bad data stays bad on a second try: not retriable. */
export class DataQualityError extends LambdamartError {
  constructor(readonly failures: CheckFailure[]) {
    super(
      'LM_ERR_BATCH_DATA_QUALITY',
      failures
        .map((f) => `data-quality check ${f.check} failed: ${f.failingRows} offending row(s), e.g. ${JSON.stringify(f.sample.slice(0, 3))}`)
        .join('; '),
    );
    this.name = 'DataQualityError';
  }
}

const sampleSize = 5;

/** A check to run: recorded under `name`, its SQL the model `model` with `params`. */
export interface Check {
  name: string;
  model: string;
  params?: ModelParams;
}

/**
 * Runs a check in the job's transaction; records its result outside it, a pass only with
 * `recordPass`; returns the failure or null.
 */
export async function runCheck(ctx: JobContext, check: Check, options: { recordPass?: boolean } = {}): Promise<CheckFailure | null> {
  const { name } = check;
  const sql = await loadModel(check.model, check.params);
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

/**
 * The checks of warehouse/sql/models/checks (not its guards/ folder), by name. A check with a
 * :'fact' parameter runs once per fact, named after it: fact_unique_event_id is
 * fact_sales_unique_event_id, fact_product_views_unique_event_id and fact_cart_events_unique_event_id.
 */
export async function listChecks(): Promise<{ check: Check; sql: string }[]> {
  const checks: { check: Check; sql: string }[] = [];
  for (const model of await listModels('checks')) {
    const name = model.slice('checks/'.length);
    const sql = await readModel(model);
    if (!sql.includes(":'fact'")) checks.push({ check: { name, model }, sql });
    else for (const fact of factTables) checks.push({ check: { name: name.replace(/^fact_/, `${fact}_`), model, params: { fact } }, sql });
  }
  return checks.sort((a, b) => (a.check.name < b.check.name ? -1 : 1));
}
