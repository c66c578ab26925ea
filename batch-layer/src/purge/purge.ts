/**
 * `lambdamart batch purge --older-than 30d`: deletes raw events from the realtime database once
 * they are old enough, archived in the lake AND loaded into the warehouse: ingested before the
 * oldest of the archive, dimensions and facts watermarks, minus the lookback (an incremental run
 * still reads the lookback). An event date whose Parquet files are missing from the lake is
 * skipped, whatever the watermarks say: a full refresh could not get its rows back.
 * Catalog records stay: they are small and the current catalog needs them.
 */
import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type Config, createPool, LambdamartError, type PoolClient } from '@lambdamart/core';
import { lockKeySql } from '../runner/locks.ts';
import { defaultLookbackMinutes } from '../shared/window.ts';

/** The jobs whose work a purged row must have gone through. */
export const purgeNeedsJobs = ['archive', 'dimensions', 'facts'] as const;

export interface PurgeResult {
  cutoff: Date | null;
  deleted: Record<string, number>;
  /** Per table, the event dates (YYYY-MM-DD) left in place because the lake lacks their files. */
  skipped: Record<string, string[]>;
}

/** The raw tables purged, their event time and the lake datasets that must hold their rows. */
const purgedTables = [
  { table: 'transactions', eventTime: 'transaction_timestamp', datasets: ['transactions', 'transaction_items'] },
  { table: 'product_view_events', eventTime: 'event_timestamp', datasets: ['product_views'] },
  { table: 'cart_events', eventTime: 'event_timestamp', datasets: ['cart_events'] },
] as const;

export class PurgeRefusedError extends LambdamartError {
  constructor(message: string) {
    super('LM_ERR_BATCH_PURGE_REFUSED', message);
    this.name = 'PurgeRefusedError';
  }
}

/**
 * The purge cutoff: the older of "N days ago" and "archived and loaded, with the lookback margin"
 * (`loadedUpTo`: the oldest watermark of purgeNeedsJobs, null while one of them never ran).
 */
export function purgeCutoff(now: Date, olderThanDays: number, loadedUpTo: Date | null, lookbackMinutes: number): Date | null {
  if (!Number.isInteger(olderThanDays) || olderThanDays < 1) {
    throw new PurgeRefusedError(`purge --older-than must be at least 1d (got ${olderThanDays}d): a purge keeps today's events`);
  }
  if (!loadedUpTo) return null;
  const byAge = now.getTime() - olderThanDays * 86_400_000;
  const byWatermarks = loadedUpTo.getTime() - lookbackMinutes * 60_000;
  return new Date(Math.min(byAge, byWatermarks));
}

/** The oldest of the watermarks, or null when one is missing (that job never loaded anything). */
export function oldestWatermark(
  watermarks: Record<string, Date | null | undefined>,
  jobs: readonly string[] = purgeNeedsJobs,
): Date | null {
  let oldest: Date | null = null;
  for (const job of jobs) {
    const watermark = watermarks[job];
    if (!watermark) return null;
    if (!oldest || watermark < oldest) oldest = watermark;
  }
  return oldest;
}

export async function purgeArchived(
  config: Config,
  options: { olderThanDays: number; lookbackMinutes?: number; now?: Date },
): Promise<PurgeResult> {
  // Refused before any connection: a bad age is the caller's mistake, not the database's.
  purgeCutoff(options.now ?? new Date(), options.olderThanDays, null, 0);
  const wh = createPool(config.warehouseDatabaseUrl, { max: 1, application: 'lambdamart-batch' });
  const rt = createPool(config.realtimeDatabaseUrl, { max: 1, application: 'lambdamart-batch' });
  const lock = await wh.connect();
  try {
    // The archive job's lock: no archive runs while we decide what is archived.
    await lock.query('begin');
    await lock.query(`select pg_advisory_xact_lock(${lockKeySql})`, ['archive']);
    const { rows } = await lock.query<{ job_name: string; watermark: Date }>(
      'select job_name, watermark from etl_watermarks where job_name = any($1::text[])',
      [purgeNeedsJobs],
    );
    const cutoff = purgeCutoff(
      options.now ?? new Date(),
      options.olderThanDays,
      oldestWatermark(Object.fromEntries(rows.map((r) => [r.job_name, r.watermark]))),
      options.lookbackMinutes ?? defaultLookbackMinutes,
    );
    const deleted: Record<string, number> = { transactions: 0, product_view_events: 0, cart_events: 0 };
    const skipped: Record<string, string[]> = {};
    if (cutoff) {
      const client = await rt.connect();
      try {
        await client.query('begin');
        for (const { table, eventTime, datasets } of purgedTables) {
          const missing = await datesMissingFromLake(client, config.lakeDir, table, eventTime, datasets, cutoff);
          if (missing.length) skipped[table] = missing;
          // transaction_items go with their transaction (on delete cascade).
          const result = await client.query(
            `delete from ${table} where ingested_at < $1 and (${eventTime} at time zone 'UTC')::date <> all($2::date[])`,
            [cutoff, missing],
          );
          deleted[table] = result.rowCount ?? 0;
        }
        await client.query('commit');
      } catch (error) {
        await client.query('rollback');
        throw error;
      } finally {
        client.release();
      }
    }
    await lock.query('commit');
    return { cutoff, deleted, skipped };
  } finally {
    lock.release();
    await Promise.all([wh.end(), rt.end()]);
  }
}

/**
 * The UTC event dates of the rows of `table` ingested before `cutoff` that some dataset lacks
 * Parquet files for (LAKE_DIR/<dataset>/date=YYYY-MM-DD/*.parquet, as the archive writes them).
 */
async function datesMissingFromLake(
  client: PoolClient,
  lakeDir: string,
  table: string,
  eventTime: string,
  datasets: readonly string[],
  cutoff: Date,
): Promise<string[]> {
  const { rows } = await client.query<{ day: string }>(
    `select distinct (${eventTime} at time zone 'UTC')::date::text as day from ${table} where ingested_at < $1 order by 1`,
    [cutoff],
  );
  const missing: string[] = [];
  for (const { day } of rows) {
    for (const dataset of datasets) {
      const files = await readdir(join(resolve(lakeDir), dataset, `date=${day}`)).catch(() => [] as string[]);
      if (!files.some((f) => f.endsWith('.parquet'))) {
        missing.push(day);
        break;
      }
    }
  }
  return missing;
}
