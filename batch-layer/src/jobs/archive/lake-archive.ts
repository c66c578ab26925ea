/**
 * The archive: realtime rows to the Parquet lake (see lake.ts for the layout). Each dataset is
 * exported from PostgreSQL as CSV, and DuckDB turns the file into date-partitioned Parquet in
 * LAKE_DIR/_incoming; each complete file is then renamed into its date folder.
 *
 * Both cores work: the datasets are exported over two realtime connections that share the
 * job's snapshot (pg_export_snapshot), and DuckDB converts one dataset while PostgreSQL exports
 * the next.
 *
 * The window looks back before the last archive's watermark, for rows committed late. Those
 * the last archive saw (LAKE_DIR/_archived.json keeps its realtime snapshot, written once its
 * files are in place) are not written again: their event dates may be anywhere in the past,
 * and each date they touch would cost the lake a small file.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Pool, PoolClient } from '@lambdamart/core';
import { loadModel } from '@lambdamart/warehouse';
import { copyQueryToFile } from '../../shared/copy.ts';
import { duckColumns, filesUnder, type LakeDataset, lakeDatasets, quote, withDuckdb } from '../../shared/lake.ts';

/** Where the rows come from: the job's connection (its snapshot) and the pool for more readers. */
export interface ArchiveSource {
  /** In a repeatable-read transaction: every export reads its snapshot. */
  rt: PoolClient;
  pool: Pool;
}

/** PostgreSQL exports at once: one per core, and DuckDB's conversions take turns with them. */
const exportLanes = 2;

/**
 * The order the exports start in: the biggest first on one lane while the other exports the
 * small ones, so DuckDB has a dataset to convert early and the biggest is ready when it is done.
 */
const exportOrder = ['product_views', 'product_catalog', 'transactions', 'cart_events', 'transaction_items'];

/** The rows of each dataset that show whether the last archive saw a row: the table and key. */
const sourceRows: Record<string, { table: string; key: string[] }> = {
  transactions: { table: 'transactions', key: ['transaction_id'] },
  transaction_items: { table: 'transactions', key: ['transaction_id'] },
  product_views: { table: 'product_view_events', key: ['event_id'] },
  cart_events: { table: 'cart_events', key: ['event_id'] },
  product_catalog: { table: 'product_catalog_events', key: ['product_id', 'updated_at'] },
};

/** The realtime rows to archive: ingested in (since, until]; the lookback part ends at the last watermark. */
export interface ArchiveWindow {
  since: string;
  until: string;
  /** The last archive's watermark: rows ingested up to it were archived if its snapshot showed them. */
  archivedUpTo: string | null;
}

/**
 * Archives the realtime rows ingested in (since, until] to the lake, but those the last archive
 * saw; returns rows per dataset. Each dataset's files land in their date folders only once
 * complete, and then the snapshot is recorded.
 */
export async function archiveToLake(
  source: ArchiveSource,
  lakeDir: string,
  window: ArchiveWindow,
  runLabel: string,
): Promise<Record<string, number>> {
  const lake = resolve(lakeDir);
  const incoming = join(lake, '_incoming', `${runLabel}-${randomUUID().slice(0, 8)}`);
  await mkdir(incoming, { recursive: true });
  let failed = false;
  try {
    const { rows } = await source.rt.query<{ id: string; snapshot: string }>(
      'select pg_export_snapshot() as id, pg_current_snapshot()::text as snapshot',
    );
    const snapshot = rows[0]?.id ?? '';
    const seen = await lastArchivedSnapshot(lake);
    const counts = await withDuckdb(async (duck) => {
      // The rows of a file need no order: DuckDB then writes the partitions without keeping it.
      await duck.run('set preserve_insertion_order = false');
      const counts: Record<string, number> = {};
      const conversions = new SerialQueue();
      const datasets = exportOrder.map((name) => lakeDatasets.find((d) => d.name === name) as LakeDataset);
      try {
        await forEachOnLanes(datasets, exportLanes, async (dataset) => {
          const csv = join(incoming, `${dataset.name}.csv`);
          const query = await unarchivedRows(dataset, window, seen);
          counts[dataset.name] = await exportAsCsv(source.pool, snapshot, query, csv);
          if (counts[dataset.name])
            conversions.push(() => convertAndPublish(duck, dataset, csv, join(incoming, dataset.name), lake, runLabel));
        });
      } catch (error) {
        conversions.abandon(error);
      }
      // DuckDB must be idle before it closes, even after a failed export.
      await conversions.drained();
      return counts;
    });
    await recordArchivedSnapshot(lake, rows[0]?.snapshot ?? '');
    return counts;
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    // A clean-up that fails too (the same unwritable folder) must not hide the archive's own error.
    await rm(incoming, { recursive: true, force: true }).catch((error: unknown) => {
      if (!failed) throw error;
    });
  }
}

/**
 * The extract of `dataset` for the window: the rows ingested after the last watermark, and
 * those of the lookback before it that the last archive's snapshot did not show (committed
 * after it: their xmin, a 32-bit xid, at or past its xmax, or running then).
 */
async function unarchivedRows(dataset: LakeDataset, window: ArchiveWindow, seen: string | null): Promise<string> {
  const extract = (since: string, until: string) => loadModel(dataset.extract, { since, until, from_ts: '-infinity', to_ts: 'infinity' });
  const { archivedUpTo } = window;
  if (!seen || !archivedUpTo || archivedUpTo <= window.since) return extract(window.since, window.until);
  const { table, key } = sourceRows[dataset.name] ?? { table: '', key: [] };
  const [, xmax = '0', running = ''] = seen.split(':');
  const low = (xid: string) => (BigInt(xid) % 4294967296n).toString();
  return `${await extract(archivedUpTo, window.until)}
          union all
          select * from (${await extract(window.since, archivedUpTo)}) looked_back
          where (${key.join(', ')}) in (
            select ${key.join(', ')} from ${table}
            where ingested_at > '${window.since}' and ingested_at <= '${archivedUpTo}'
              and (age(xmin) <= age('${low(xmax)}'::xid) or xmin = any('{${running.split(',').filter(Boolean).map(low).join(',')}}'::xid[])))`;
}

/** The realtime snapshot of the last archive whose files are in place, or null. */
async function lastArchivedSnapshot(lake: string): Promise<string | null> {
  const recorded = await readFile(join(lake, archivedFile), 'utf8').catch(() => null);
  return recorded ? (JSON.parse(recorded) as { snapshot: string }).snapshot : null;
}

/** Written once the files are in place (renamed into place: never half-written). */
async function recordArchivedSnapshot(lake: string, snapshot: string): Promise<void> {
  const file = join(lake, archivedFile);
  await writeFile(`${file}.tmp`, JSON.stringify({ snapshot }));
  await rename(`${file}.tmp`, file);
}

const archivedFile = '_archived.json';

/** Writes the rows of `query` to `csv` on a connection of its own that reads `snapshot`; returns the row count. */
async function exportAsCsv(pool: Pool, snapshot: string, query: string, csv: string): Promise<number> {
  const client = await pool.connect();
  let failed = false;
  try {
    await client.query('begin isolation level repeatable read read only');
    await client.query(`set transaction snapshot '${snapshot}'`);
    // UTC timestamps are the cheapest to print.
    await client.query("set local time zone 'UTC'");
    const rows = await copyQueryToFile(client, query, csv);
    await client.query('commit');
    return rows;
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    // A connection that failed mid-COPY is closed rather than handed to the next job.
    client.release(failed);
  }
}

/** DuckDB: the CSV as Parquet partitioned by event date; each complete file renamed into the lake. */
async function convertAndPublish(
  duck: DuckDBConnection,
  dataset: LakeDataset,
  csv: string,
  out: string,
  lake: string,
  runLabel: string,
): Promise<void> {
  await duck.run(
    `copy (select *, cast(${dataset.eventTime} as date) as date
           from read_csv(${quote(csv)}, header = false, auto_detect = false, delim = ',', quote = '"', escape = '"', columns = ${duckColumns(dataset)}))
     to ${quote(out)} (format parquet, partition_by (date), compression zstd)`,
  );
  await rm(csv);
  // Publish: each complete file is renamed (atomic on one filesystem) under a unique name.
  for (const file of await filesUnder(out)) {
    const partition = file.slice(out.length + 1).split('/')[0] ?? 'date=unknown';
    const target = join(lake, dataset.name, partition);
    await mkdir(target, { recursive: true });
    await rename(file, join(target, `part-${runLabel}-${randomUUID()}.parquet`));
  }
}

/** Runs `work` for each item, at most `lanes` at a time, in order; the first failure is thrown once all stopped. */
async function forEachOnLanes<T>(items: readonly T[], lanes: number, work: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  const failures: unknown[] = [];
  const lane = async () => {
    for (let item = queue.shift(); item !== undefined && failures.length === 0; item = queue.shift()) {
      await work(item).catch((error: unknown) => failures.push(error));
    }
  };
  await Promise.all(Array.from({ length: lanes }, lane));
  if (failures.length > 0) throw failures[0];
}

/**
 * Tasks run one at a time in the order pushed, while the pusher goes on. After a failure (or
 * abandon) the queued tasks are skipped; drained() waits for the running one and throws the
 * first failure.
 */
class SerialQueue {
  private tail: Promise<void> = Promise.resolve();
  private failure: { error: unknown } | undefined;

  push(task: () => Promise<void>): void {
    this.tail = this.tail
      .then(() => (this.failure ? undefined : task()))
      .catch((error: unknown) => {
        this.failure ??= { error };
      });
  }

  abandon(error: unknown): void {
    this.failure ??= { error };
  }

  async drained(): Promise<void> {
    await this.tail;
    if (this.failure) throw this.failure.error;
  }
}
