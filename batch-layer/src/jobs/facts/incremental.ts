/**
 * An incremental facts run: the raw rows since the watermark (minus the lookback) staged, and
 * the model's rows not loaded yet inserted in the job's transaction.
 */
import type { PoolClient } from '@lambdamart/core';
import { loadModel } from '@lambdamart/warehouse';
import type { JobContext, JobResult } from '../../runner/job.ts';
import { type FactTable, factTables } from '../../shared/fact-tables.ts';
import { maxStagedIngestedAt, type StagedKind, stageRaw } from '../../shared/staging.ts';
import { loadWarehouseSql } from '../../shared/warehouse-sql.ts';
import { defaultLookbackMinutes, extractWindow, nextWatermark } from '../../shared/window.ts';

export const stagedKinds: StagedKind[] = ['transactions', 'transactionItems', 'productViews', 'cartEvents'];

export async function loadIncrement(ctx: JobContext): Promise<JobResult> {
  const { wh, rt, options } = ctx;
  const staged = await stageRaw(rt, wh, stagedKinds, extractWindow(ctx.watermark, options));
  await conformDimensions(wh);
  const watermark = nextWatermark(ctx.watermark, await maxStagedIngestedAt(wh, stagedKinds), options);
  const relistedFrom = lookbackStart(watermark ?? ctx.watermark, options);
  // The rows this run inserts, for the publication guards.
  await wh.query(
    `create temp table loaded_fact_rows (
       fact text not null, event_id text not null, event_date date not null, event_time timestamptz not null,
       date_id integer not null, customer_id integer not null, product_id_pk integer not null, geography_id integer not null,
       user_id text not null, product_id text not null
     ) on commit drop`,
  );

  // Bulk point-in-time joins: hash joins on the natural key. The planner otherwise probes the
  // dimensions' indexes row by row, or sorts both sides for a merge join, both far slower here.
  await wh.query('set local enable_nestloop = off');
  await wh.query('set local enable_mergejoin = off');
  const loaded = {} as Record<FactTable, number>;
  for (const fact of factTables) loaded[fact] = await insertNewRows(ctx, fact, relistedFrom);
  if (relistedFrom) await wh.query('delete from fact_lookback_keys where ingested_at <= $1', [relistedFrom]);
  return {
    rowsIn: staged.transactionItems + staged.productViews + staged.cartEvents,
    rowsOut: sum(Object.values(loaded)),
    watermark,
    details: loaded,
  };
}

export const sum = (values: Iterable<number>) => [...values].reduce((a, b) => a + b, 0);

/** From when the next run stages rows again: the watermark minus the lookback (null without a watermark). */
export function lookbackStart(watermark: Date | null, options: JobContext['options']): Date | null {
  return watermark ? new Date(watermark.getTime() - (options.lookbackMinutes ?? defaultLookbackMinutes) * 60_000) : null;
}

/**
 * The conformed dimensions every staged event needs (in case the dimensions job saw another
 * window) and the month partitions of the staged events' time range.
 */
export async function conformDimensions(wh: PoolClient): Promise<void> {
  await wh.query(await loadModel('dim_date'));
  await wh.query(await loadModel('dim_geography'));
  await wh.query(
    `with times as (
       select transaction_timestamp as at from stg_transactions
       union all select event_timestamp from stg_product_views
       union all select event_timestamp from stg_cart_events),
     dates as (select (min(at) at time zone 'UTC')::date as first, (max(at) at time zone 'UTC')::date as last from times)
     select ensure_month_partitions(fact, dates.first, dates.last)
     from unnest($1::text[]) as fact, dates
     where dates.first is not null`,
    [factTables],
  );
}

/**
 * Inserts the model's rows that are not loaded yet (facts are append-only, keyed by event id),
 * records them per event date, and lists the keys of those the next run stages again; returns
 * how many were inserted.
 *
 * The rows staged again (the lookback) that are listed in fact_lookback_keys are skipped without
 * a probe of the fact partitions; the rest are inserted as they are. Only a row loaded by a
 * ranged run (which leaves the watermark alone), or whose key a crash dropped from the
 * unlogged list, can still be there: then its unique violation sends the insert to the slow
 * path, ON CONFLICT DO NOTHING.
 */
async function insertNewRows(ctx: JobContext, fact: FactTable, relistedFrom: Date | null): Promise<number> {
  const { wh } = ctx;
  await wh.query(`create temp view fact_rows as ${await loadModel(fact)}`);
  const described = await wh.query('select * from fact_rows limit 0');
  const insert = async (onConflict: string) =>
    wh.query<{ n: number }>(
      await loadWarehouseSql('facts/insert_new_rows', {
        literals: { fact, run_id: ctx.runId, relisted_from: relistedFrom?.toISOString() ?? 'infinity' },
        identifiers: { fact, event_time: fact === 'fact_sales' ? 'transaction_timestamp' : 'event_timestamp' },
        fragments: { columns: described.fields.map((f) => f.name).join(', '), on_conflict: onConflict },
      }),
    );
  await wh.query('savepoint insert_new_rows');
  try {
    const { rows } = await insert('');
    await wh.query('release savepoint insert_new_rows');
    return rows[0]?.n ?? 0;
  } catch (error) {
    if ((error as { code?: string }).code !== '23505') throw error;
    await wh.query('rollback to savepoint insert_new_rows');
    const { rows } = await insert('on conflict (event_id, event_date) do nothing');
    return rows[0]?.n ?? 0;
  } finally {
    // Not after a failure other than the unique violation: the job's transaction is aborted, and its rollback drops the view.
    await wh.query('drop view if exists fact_rows').catch(() => undefined);
  }
}
