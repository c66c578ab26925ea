/**
 * The PostgreSQL engine, the benchmark's baseline and the reference the equality test compares
 * against: runs each model's file in the warehouse and replaces every output.
 */
import type { PoolClient } from '@lambdamart/core';
import { loadModel } from '@lambdamart/warehouse';
import { type AnalyticsModel, type AnalyticsRun, analyticsModels, analyticsOutputs, clearOutput, Steps, sum } from './outputs.ts';

export async function buildWithPostgres(wh: PoolClient, analysisDate: string): Promise<AnalyticsRun> {
  const steps = new Steps();
  // product_performance no longer comes from DuckDB's replica: DuckDB must not refresh it in part.
  await wh.query('update analytics_replica set performance_current = false');
  const perModel = {} as Record<AnalyticsModel, number>;
  for (const model of analyticsModels) {
    const out = analyticsOutputs[model];
    await steps.time(model, async () => {
      await clearOutput(wh, model, analysisDate, null);
      const sql = await loadModel(model, { analysis_date: analysisDate });
      const inserted = await wh.query(`insert into ${out.table} (${out.columns.join(', ')}) ${sql}`);
      perModel[model] = inserted.rowCount ?? 0;
    });
  }
  const { rows } = await wh.query<{ n: number }>('select count(*)::bigint as n from fact_sales');
  return { performance: 'all', rowsIn: rows[0]?.n ?? 0, rowsOut: sum(perModel), perModel, steps: steps.seconds };
}
