/**
 * Staging for a full refresh: the lake (the master dataset) plus the realtime rows the archive
 * has not covered yet, one row per key. Rows purged from the realtime database come back from
 * the lake; rows not archived yet come from the realtime database.
 */
import type { JobContext } from './job.ts';
import { lakeDatasets, stageFromLake } from './lake.ts';
import { createStagingTables, type StagedKind, StagingTables, stageRaw } from './staging.ts';
import { defaultLookbackMinutes } from './window.ts';

export async function stageFullHistory(ctx: JobContext, kinds: readonly StagedKind[]): Promise<Record<StagedKind, number>> {
  const { wh, rt } = ctx;
  await createStagingTables(wh);
  const fromLake = await stageFromLake(wh, ctx.config.lakeDir, kinds);
  const archivedUpTo = await ctx.watermarkOf('archive');
  const lookbackMs = (ctx.options.lookbackMinutes ?? defaultLookbackMinutes) * 60_000;
  const since = archivedUpTo ? new Date(archivedUpTo.getTime() - lookbackMs).toISOString() : '-infinity';
  const recent = (kind: StagedKind) => `recent_${StagingTables[kind]}`;
  for (const kind of kinds) {
    await wh.query(`create temp table if not exists ${recent(kind)} (like staging.${StagingTables[kind]}) on commit drop`);
  }
  await stageRaw(rt, wh, kinds, { since, until: 'infinity', fromTs: '-infinity', toTs: 'infinity' }, recent);
  const counts = { transactions: 0, transactionItems: 0, productViews: 0, cartEvents: 0, catalogEvents: 0 };
  for (const kind of kinds) {
    const key = lakeDatasets.find((d) => d.kind === kind)?.key ?? [];
    const match = key.map((c) => `s.${c} = r.${c}`).join(' and ');
    await wh.query(
      `insert into ${StagingTables[kind]} select * from ${recent(kind)} r
       where not exists (select 1 from ${StagingTables[kind]} s where ${match})`,
    );
    await wh.query(`analyze ${StagingTables[kind]}`);
    const { rows } = await wh.query<{ n: number }>(`select count(*)::bigint as n from ${StagingTables[kind]}`);
    counts[kind] = rows[0]?.n ?? 0;
  }
  ctx.logger.info({ fromLake, staged: counts }, 'full refresh staged from the lake and the unarchived realtime rows');
  return counts;
}
