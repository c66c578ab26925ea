/**
 * The input of a full refresh: the lake (the master dataset) plus the realtime rows the archive
 * has not covered yet, one row per key (the last ingested). Rows purged from the realtime
 * database come back from the lake; rows not archived yet come from the realtime database (in
 * the job's snapshot). The history is assembled in DuckDB, in tables named like the stg_* ones.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { loadModel } from '@lambdamart/warehouse';
import type { JobContext } from '../runner/job.ts';
import { copyDuckdbToTable, copyQueryToFile } from './copy.ts';
import { duckColumns, type LakeDataset, lakeDatasets, lakeFiles, quote, withDuckdb } from './lake.ts';
import { createStagingTables, type StagedKind, StagingTables } from './staging.ts';
import { defaultLookbackMinutes } from './window.ts';

export type StagedCounts = Record<StagedKind, number>;

export interface FullHistory {
  /** A DuckDB holding table stg_<kind> per staged kind (the columns of staging.stg_* and more). */
  duck: DuckDBConnection;
  /** For more connections to the same DuckDB. */
  instance: DuckDBInstance;
  counts: StagedCounts;
}

/** Runs `use` with the full history of `kinds` in DuckDB. */
export async function withFullHistory<T>(
  ctx: JobContext,
  kinds: readonly StagedKind[],
  use: (history: FullHistory) => Promise<T>,
): Promise<T> {
  const scratch = join(resolve(ctx.config.lakeDir), '_incoming', `read-${randomUUID().slice(0, 8)}`);
  await mkdir(scratch, { recursive: true });
  try {
    return await withDuckdb(async (duck, instance) => {
      // No query here needs rows in the order they were read: DuckDB then loads them faster.
      await duck.run('set preserve_insertion_order = false');
      const counts = { transactions: 0, transactionItems: 0, productViews: 0, cartEvents: 0, catalogEvents: 0 };
      const since = await unarchivedSince(ctx);
      for (const dataset of lakeDatasets.filter((d) => kinds.includes(d.kind))) {
        const recent = await unarchivedRows(ctx, dataset, since, scratch);
        counts[dataset.kind] = await loadHistory(duck, dataset, [await lakeFiles(ctx.config.lakeDir, dataset), recent]);
      }
      ctx.logger.info({ staged: counts }, 'full history assembled from the lake and the unarchived realtime rows');
      return await use({ duck, instance, counts });
    });
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * Stages the full history of `kinds` into the job's stg_* tables of the warehouse (binary COPY
 * from DuckDB); returns rows per kind.
 */
export async function stageFullHistory(ctx: JobContext, kinds: readonly StagedKind[]): Promise<StagedCounts> {
  return withFullHistory(ctx, kinds, async ({ duck, counts }) => {
    await createStagingTables(ctx.wh);
    for (const kind of kinds) {
      const columns = lakeDatasets.find((d) => d.kind === kind)?.staged.join(', ');
      await copyDuckdbToTable(duck, `select ${columns} from ${StagingTables[kind]}`, ctx.wh, StagingTables[kind]);
      await ctx.wh.query(`analyze ${StagingTables[kind]}`);
    }
    return counts;
  });
}

/** The archive has every row ingested up to its watermark; the lookback covers late commits. */
async function unarchivedSince(ctx: JobContext): Promise<string> {
  const archivedUpTo = await ctx.watermarkOf('archive');
  const lookbackMs = (ctx.options.lookbackMinutes ?? defaultLookbackMinutes) * 60_000;
  return archivedUpTo ? new Date(archivedUpTo.getTime() - lookbackMs).toISOString() : '-infinity';
}

/** The realtime rows of `dataset` ingested after `since`, as DuckDB's read of a CSV file (null when none). */
async function unarchivedRows(ctx: JobContext, dataset: LakeDataset, since: string, scratch: string): Promise<string | null> {
  const query = await loadModel(dataset.extract, { since, until: 'infinity', from_ts: '-infinity', to_ts: 'infinity' });
  const csv = join(scratch, `${dataset.name}.csv`);
  if ((await copyQueryToFile(ctx.rt, query, csv)) === 0) return null;
  return `read_csv(${quote(csv)}, header = false, auto_detect = false, delim = ',', quote = '"', escape = '"', columns = ${duckColumns(dataset)})`;
}

/**
 * Creates table stg_<kind>: the rows of the sources (lake, realtime), one per key; returns its
 * row count. Besides the stg_* columns it keeps the source's others (ingested_at, for one).
 */
async function loadHistory(duck: DuckDBConnection, dataset: LakeDataset, sources: (string | null)[]): Promise<number> {
  const table = StagingTables[dataset.kind];
  const columns = dataset.columns.map(([c, type]) => `cast(${c} as ${type}) as ${c}`).join(', ');
  const reads = sources.filter((s): s is string => s !== null);
  const rows = reads.length > 0 ? reads.map((read) => `select ${columns} from ${read}`).join(' union all ') : null;
  await duck.run(
    rows ? `create table ${table} as ${rows}` : `create table ${table} (${dataset.columns.map(([c, type]) => `${c} ${type}`).join(', ')})`,
  );
  await dropDuplicateCopies(duck, table, dataset.key);
  const reader = await duck.runAndReadAll(`select count(*)::integer from ${table}`);
  return Number(reader.getRows()[0]?.[0] ?? 0);
}

/**
 * Keeps the last ingested copy of each key. An archive retried, or archiving its lookback again,
 * writes a row twice; the unarchived realtime rows overlap the lake by the lookback. Finding the
 * keys seen twice and deleting their extra copies costs half of deduplicating every row.
 */
async function dropDuplicateCopies(duck: DuckDBConnection, table: string, key: readonly string[]): Promise<void> {
  const keys = key.join(', ');
  await duck.run(
    `delete from ${table} where rowid in (
       select rowid from (
         select t.rowid, row_number() over (partition by ${key.map((c) => `t.${c}`).join(', ')} order by t.ingested_at desc) as copy
         from ${table} t
         join (select ${keys} from ${table} group by ${keys} having count(*) > 1) twice
           on ${key.map((c) => `twice.${c} = t.${c}`).join(' and ')})
       where copy > 1)`,
  );
}
