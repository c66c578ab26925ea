/**
 * archive: the raw rows ingested since the last archive (minus the lookback, but the rows the
 * last archive saw) go to the Parquet lake. The watermark moves only after the files are in
 * place, so a crash re-archives (readers keep one row per key) rather than losing rows.
 */
import type { JobDefinition } from '../../runner/job.ts';
import { extractWindow } from '../../shared/window.ts';
import { archiveToLake } from './lake-archive.ts';

export const archiveJob: JobDefinition = {
  name: 'archive',
  description: 'raw events since the last archive to the Parquet lake (LAKE_DIR)',
  dependsOn: [],
  async run(ctx) {
    const previous = await ctx.watermarkOf('archive');
    const window = extractWindow(previous, { lookbackMinutes: ctx.options.lookbackMinutes });
    const { rows } = await ctx.rt.query<{ at: Date | null }>(
      `select max(at) as at from (
         select max(ingested_at) as at from transactions
         union all select max(ingested_at) from product_view_events
         union all select max(ingested_at) from cart_events
         union all select max(ingested_at) from product_catalog_events) newest`,
    );
    const newest = rows[0]?.at ?? null;
    // Nothing newer than the last archive: write nothing (the lake would only gain duplicates).
    if (!newest || (previous && newest.getTime() <= previous.getTime())) return { rowsIn: 0, rowsOut: 0 };
    // Upper bound: the newest row of this snapshot (+1 ms: a JS Date drops the microseconds).
    const until = new Date(newest.getTime() + 1).toISOString();
    const counts = await archiveToLake(
      { rt: ctx.rt, pool: ctx.pools.realtime },
      ctx.config.lakeDir,
      { since: window.since, until, archivedUpTo: previous?.toISOString() ?? null },
      `run${ctx.runId}`,
    );
    const archived = Object.values(counts).reduce((a, b) => a + b, 0);
    return {
      rowsIn: archived,
      rowsOut: archived,
      watermark: newest,
      details: counts,
    };
  },
};
