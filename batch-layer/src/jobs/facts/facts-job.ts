/**
 * facts: fact_sales, fact_product_views, fact_cart_events, point-in-time joined to the dimensions
 * by the models of the same names (SQL that PostgreSQL and DuckDB share).
 *
 * - An incremental run stages the raw rows since the watermark (minus the lookback, so rows
 *   committed late are still seen) and inserts the model's rows not loaded yet, in the job's
 *   transaction.
 * - A full refresh computes every fact row in DuckDB from the full history (lake + unarchived
 *   rows), loads them into new partitions in schema fact_build over two connections beside the
 *   job's transaction (binary COPY, then the indexes, both cores busy), and swaps those
 *   partitions in inside the job's transaction: a crash leaves the previous facts, and the half-
 *   built tables until the next full refresh drops them.
 *
 * Every run that loads rows records them per (fact, event date) in fact_load_dates, for the jobs
 * that refresh only the dates that changed.
 *
 * Before it commits, a run checks what it is about to publish (shared/checks.ts: publication guards):
 * the revenue of the orders it staged against their raw totals, in its own snapshot, and the
 * dimension rows of the rows it inserted. A failing guard is recorded outside the transaction
 * and fails the run, which rolls back: the last good warehouse stays.
 */
import type { JobContext, JobDefinition } from '../../runner/job.ts';
import { DataQualityError, runCheck } from '../../shared/checks.ts';
import { loadWarehouseSql } from '../../shared/warehouse-sql.ts';
import { rebuildFacts } from './full-refresh.ts';
import { loadIncrement } from './incremental.ts';

export const factsJob: JobDefinition = {
  name: 'facts',
  description: 'fact_sales, fact_product_views, fact_cart_events (incremental, point-in-time)',
  dependsOn: ['dimensions'],
  async run(ctx) {
    const result = await (ctx.options.fullRefresh ? rebuildFacts(ctx) : loadIncrement(ctx));
    await guardPublication(ctx);
    // A ranged run staged only its dates: what it saw says nothing about the rest.
    if (!ctx.options.from && !ctx.options.to) await recordSourceSnapshot(ctx);
    // The serving API's daily sales (warehouse migration 0012), published with these facts.
    const refresh = { run_id: ctx.runId, full_refresh: Boolean(ctx.options.fullRefresh), watermark: result.watermark?.toISOString() ?? '' };
    await ctx.wh.query(await loadWarehouseSql('facts/sales_daily_refresh', { literals: refresh }));
    return result;
  },
};

/**
 * The publication guards over what this run wrote, in its transaction: the revenue of the orders
 * in stg_transactions (those it staged; the whole history on a full refresh) and, after an
 * incremental run, the dimension rows of the rows it inserted (loaded_fact_rows). A full
 * refresh's rows hold one row per event id (the history keeps one per key) and join the
 * dimensions of this transaction. Event ids loaded twice across runs stay with the quality job:
 * looking each new id up in every partition costs seconds per 100,000 rows.
 */
async function guardPublication(ctx: JobContext): Promise<void> {
  const failures = [
    await runCheck(ctx, { name: 'fact_revenue_matches_raw', model: 'checks/fact_revenue_matches_raw' }, { recordPass: false }),
  ];
  if (!ctx.options.fullRefresh) {
    failures.push(
      await runCheck(
        ctx,
        { name: 'facts_have_dimension_rows', model: 'checks/guards/loaded_facts_have_dimension_rows' },
        { recordPass: false },
      ),
    );
  }
  const failed = failures.filter((f) => f !== null);
  if (failed.length) throw new DataQualityError(failed);
}

/** The realtime snapshot this run read, for the quality job's revenue check (migration 0008). */
async function recordSourceSnapshot(ctx: JobContext): Promise<void> {
  const { rows } = await ctx.rt.query<{ snapshot: string }>('select pg_current_snapshot()::text as snapshot');
  await ctx.wh.query(
    `insert into fact_source_snapshot (run_id, realtime_snapshot) values ($1, $2::pg_snapshot)
     on conflict (only_row) do update set run_id = excluded.run_id, realtime_snapshot = excluded.realtime_snapshot, recorded_at = now()`,
    [ctx.runId, rows[0]?.snapshot],
  );
}
