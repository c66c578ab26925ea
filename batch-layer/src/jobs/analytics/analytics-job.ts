/**
 * analytics: product_performance, rfm_analysis, customer_segments, sales_trends as of the run
 * date (or --to), in one transaction. A scheduled run recomputes product_performance only for
 * what changed since the last one (see duckdb-engine.ts), and is skipped when neither the facts nor
 * the dimensions moved since the last run for the same date: no new data, no change. A ranged
 * run recomputes every output; a full refresh also rebuilds DuckDB's replica of the facts.
 */
import type { AnalyticsEngine, JobContext, JobDefinition } from '../../runner/job.ts';
import { buildWithDuckdb } from './duckdb-engine.ts';
import type { AnalyticsRefresh, AnalyticsRun } from './outputs.ts';
import { buildWithPostgres } from './postgres-engine.ts';

export function todayUtc(now = new Date()): string {
  return now.toISOString().slice(0, 10);
}

export const analyticsJob: JobDefinition = {
  name: 'analytics',
  description: 'product_performance, rfm_analysis, customer_segments, sales_trends (DuckDB)',
  dependsOn: ['facts'],
  async run(ctx) {
    const { wh, options } = ctx;
    const analysisDate = options.to ?? todayUtc();
    const inputs = [await ctx.watermarkOf('facts'), await ctx.watermarkOf('dimensions')]
      .filter((d): d is Date => d !== null)
      .map((d) => d.getTime());
    const inputsWatermark = inputs.length ? new Date(Math.max(...inputs)) : null;
    const scheduled = !options.fullRefresh && !options.from && !options.to;

    if (scheduled && ctx.watermark && inputsWatermark) {
      const { rows } = await wh.query<{ n: number }>('select count(*)::bigint as n from rfm_analysis where analysis_date = $1', [
        analysisDate,
      ]);
      if (ctx.watermark.getTime() >= inputsWatermark.getTime() && (rows[0]?.n ?? 0) > 0) {
        return { rowsIn: 0, rowsOut: 0, details: { skipped: 'no new facts or dimension changes', analysisDate } };
      }
    }
    const engine = options.engine ?? 'duckdb';
    const run = await buildAnalytics(ctx, engine, analysisDate, options.fullRefresh ? 'rebuild' : scheduled ? 'changed' : 'all');
    ctx.logger.info({ steps: run.steps }, 'analytics steps (seconds)');
    return {
      rowsIn: run.rowsIn,
      rowsOut: run.rowsOut,
      watermark: options.from || options.to ? undefined : inputsWatermark,
      details: { analysisDate, engine, replica: run.replica, performance: run.performance, ...run.perModel },
    };
  },
};

/** Replaces the analytics of `analysisDate` inside the job's transaction. */
export async function buildAnalytics(
  ctx: JobContext,
  engine: AnalyticsEngine,
  analysisDate: string,
  refresh: AnalyticsRefresh,
): Promise<AnalyticsRun> {
  return engine === 'duckdb' ? buildWithDuckdb(ctx, analysisDate, refresh) : buildWithPostgres(ctx.wh, analysisDate);
}
