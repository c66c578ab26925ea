/**
 * `lambdamart batch purge --older-than 30d`: deletes raw events from the realtime database once
 * they are old enough AND archived in the lake (ingested before the archive watermark minus the
 * lookback). Catalog records stay: they are small and the current catalog needs them.
 */
import { type Config, createPool } from '@lambdamart/core';
import { lockKeySql } from './runner.ts';
import { defaultLookbackMinutes } from './window.ts';

export interface PurgeResult {
  cutoff: Date | null;
  deleted: Record<string, number>;
}

/** The purge cutoff: the older of "N days ago" and "archived, with the lookback margin". */
export function purgeCutoff(now: Date, olderThanDays: number, archivedUpTo: Date | null, lookbackMinutes: number): Date | null {
  if (!archivedUpTo) return null;
  const byAge = now.getTime() - olderThanDays * 86_400_000;
  const byArchive = archivedUpTo.getTime() - lookbackMinutes * 60_000;
  return new Date(Math.min(byAge, byArchive));
}

export async function purgeArchived(
  config: Config,
  options: { olderThanDays: number; lookbackMinutes?: number; now?: Date },
): Promise<PurgeResult> {
  const wh = createPool(config.warehouseDatabaseUrl, { max: 1, application: 'lambdamart-batch' });
  const rt = createPool(config.realtimeDatabaseUrl, { max: 1, application: 'lambdamart-batch' });
  const lock = await wh.connect();
  try {
    // The archive job's lock: no archive runs while we decide what is archived.
    await lock.query('begin');
    await lock.query(`select pg_advisory_xact_lock(${lockKeySql})`, ['archive']);
    const { rows } = await lock.query<{ watermark: Date }>(`select watermark from etl_watermarks where job_name = 'archive'`);
    const cutoff = purgeCutoff(
      options.now ?? new Date(),
      options.olderThanDays,
      rows[0]?.watermark ?? null,
      options.lookbackMinutes ?? defaultLookbackMinutes,
    );
    const deleted: Record<string, number> = { transactions: 0, product_view_events: 0, cart_events: 0 };
    if (cutoff) {
      const client = await rt.connect();
      try {
        await client.query('begin');
        for (const table of Object.keys(deleted)) {
          // transaction_items go with their transaction (on delete cascade).
          const result = await client.query(`delete from ${table} where ingested_at < $1`, [cutoff]);
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
    return { cutoff, deleted };
  } finally {
    lock.release();
    await Promise.all([wh.end(), rt.end()]);
  }
}
