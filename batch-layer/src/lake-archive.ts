/**
 * The archive: realtime rows to the Parquet lake (see lake.ts for the layout). Files are written
 * in LAKE_DIR/_incoming and renamed into their date folders once complete.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { PoolClient } from '@lambdamart/core';
import { loadModel } from '@lambdamart/warehouse';
import { copyQueryToFile } from './copy.ts';
import { duckColumns, filesUnder, lakeDatasets, quote, withDuckdb } from './lake.ts';

/**
 * Archives the realtime rows ingested in (since, until] to the lake; returns rows per dataset.
 * Each dataset's files land in their date folders only once complete.
 */
export async function archiveToLake(
  rt: PoolClient,
  lakeDir: string,
  window: { since: string; until: string },
  runLabel: string,
): Promise<Record<string, number>> {
  const lake = resolve(lakeDir);
  const incoming = join(lake, '_incoming', `${runLabel}-${randomUUID().slice(0, 8)}`);
  await mkdir(incoming, { recursive: true });
  const counts: Record<string, number> = {};
  try {
    await withDuckdb(async (duck) => {
      for (const dataset of lakeDatasets) {
        const csv = join(incoming, `${dataset.name}.csv`);
        const query = await loadModel(dataset.extract, { ...window, from_ts: '-infinity', to_ts: 'infinity' });
        counts[dataset.name] = await copyQueryToFile(rt, query, csv);
        if (counts[dataset.name] === 0) continue;
        const out = join(incoming, dataset.name);
        await duck.run(
          `copy (select *, cast(${dataset.eventTime} as date) as date
                 from read_csv(${quote(csv)}, header = false, auto_detect = false, delim = ',', quote = '"', escape = '"', columns = ${duckColumns(dataset)}))
           to ${quote(out)} (format parquet, partition_by (date), compression zstd)`,
        );
        // Publish: each complete file is renamed (atomic on one filesystem) under a unique name.
        for (const file of await filesUnder(out)) {
          const partition = file.slice(out.length + 1).split('/')[0] ?? 'date=unknown';
          const target = join(lake, dataset.name, partition);
          await mkdir(target, { recursive: true });
          await rename(file, join(target, `part-${runLabel}-${randomUUID()}.parquet`));
        }
      }
    });
    return counts;
  } finally {
    await rm(incoming, { recursive: true, force: true });
  }
}
