/**
 * The data lake: the raw events as Parquet files, LAKE_DIR/<dataset>/date=YYYY-MM-DD/*.parquet,
 * written with DuckDB. It is the immutable master dataset: files are only ever added (a file is
 * written in LAKE_DIR/_incoming and renamed into place, so a half-written file is never seen),
 * and a reader keeps one row per key (an archive that is retried may write a row twice).
 */
import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import type { StagedKind } from './staging.ts';

export interface LakeDataset {
  /** Folder under LAKE_DIR. */
  name: string;
  kind: StagedKind;
  /** The realtime model that selects the rows to archive. */
  extract: string;
  /** Columns and DuckDB types, in the extract's order. */
  columns: readonly (readonly [string, string])[];
  /** The event-time column the date partition comes from. */
  eventTime: string;
  key: readonly string[];
  /** The columns of the stg_* table, in its order. */
  staged: readonly string[];
}

export const lakeDatasets: readonly LakeDataset[] = [
  {
    name: 'transactions',
    kind: 'transactions',
    extract: 'extract_transactions',
    columns: [
      ['transaction_id', 'UUID'],
      ['user_id', 'VARCHAR'],
      ['session_id', 'VARCHAR'],
      ['total_amount', 'DECIMAL(12,2)'],
      ['currency', 'VARCHAR'],
      ['payment_method', 'VARCHAR'],
      ['country', 'VARCHAR'],
      ['transaction_timestamp', 'TIMESTAMPTZ'],
      ['ingested_at', 'TIMESTAMPTZ'],
    ],
    eventTime: 'transaction_timestamp',
    key: ['transaction_id'],
    staged: [
      'transaction_id',
      'user_id',
      'session_id',
      'total_amount',
      'currency',
      'payment_method',
      'country',
      'transaction_timestamp',
      'ingested_at',
    ],
  },
  {
    name: 'transaction_items',
    kind: 'transactionItems',
    extract: 'archive_transaction_items',
    columns: [
      ['transaction_id', 'UUID'],
      ['line_number', 'SMALLINT'],
      ['product_id', 'VARCHAR'],
      ['quantity', 'INTEGER'],
      ['price', 'DECIMAL(12,2)'],
      ['transaction_timestamp', 'TIMESTAMPTZ'],
      ['ingested_at', 'TIMESTAMPTZ'],
    ],
    eventTime: 'transaction_timestamp',
    key: ['transaction_id', 'line_number'],
    staged: ['transaction_id', 'line_number', 'product_id', 'quantity', 'price'],
  },
  {
    name: 'product_views',
    kind: 'productViews',
    extract: 'extract_product_views',
    columns: [
      ['event_id', 'UUID'],
      ['user_id', 'VARCHAR'],
      ['product_id', 'VARCHAR'],
      ['session_id', 'VARCHAR'],
      ['view_duration', 'INTEGER'],
      ['country', 'VARCHAR'],
      ['event_timestamp', 'TIMESTAMPTZ'],
      ['ingested_at', 'TIMESTAMPTZ'],
    ],
    eventTime: 'event_timestamp',
    key: ['event_id'],
    staged: ['event_id', 'user_id', 'product_id', 'session_id', 'view_duration', 'country', 'event_timestamp', 'ingested_at'],
  },
  {
    name: 'cart_events',
    kind: 'cartEvents',
    extract: 'extract_cart_events',
    columns: [
      ['event_id', 'UUID'],
      ['event_type', 'VARCHAR'],
      ['user_id', 'VARCHAR'],
      ['product_id', 'VARCHAR'],
      ['session_id', 'VARCHAR'],
      ['quantity', 'INTEGER'],
      ['price', 'DECIMAL(12,2)'],
      ['country', 'VARCHAR'],
      ['event_timestamp', 'TIMESTAMPTZ'],
      ['ingested_at', 'TIMESTAMPTZ'],
    ],
    eventTime: 'event_timestamp',
    key: ['event_id'],
    staged: [
      'event_id',
      'event_type',
      'user_id',
      'product_id',
      'session_id',
      'quantity',
      'price',
      'country',
      'event_timestamp',
      'ingested_at',
    ],
  },
  {
    name: 'product_catalog',
    kind: 'catalogEvents',
    extract: 'extract_catalog_events',
    columns: [
      ['product_id', 'VARCHAR'],
      ['updated_at', 'TIMESTAMPTZ'],
      ['name', 'VARCHAR'],
      ['category', 'VARCHAR'],
      ['price', 'DECIMAL(12,2)'],
      ['ingested_at', 'TIMESTAMPTZ'],
    ],
    eventTime: 'updated_at',
    key: ['product_id', 'updated_at'],
    staged: ['product_id', 'updated_at', 'name', 'category', 'price', 'ingested_at'],
  },
];

export const duckColumns = (d: LakeDataset) => `{${d.columns.map(([c, t]) => `'${c}': '${t}'`).join(', ')}}`;
export const quote = (path: string) => `'${path.replaceAll("'", "''")}'`;

/** An in-memory DuckDB (UTC) for `use`; more connections to it come from the instance. */
export async function withDuckdb<T>(use: (duck: DuckDBConnection, instance: DuckDBInstance) => Promise<T>): Promise<T> {
  const instance = await DuckDBInstance.create(':memory:', { threads: '2', memory_limit: '2GB' });
  const duck = await instance.connect();
  try {
    await duck.run("set TimeZone = 'UTC'");
    return await use(duck, instance);
  } finally {
    duck.closeSync();
    instance.closeSync();
  }
}

export async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  return entries.filter((e) => e.isFile() && e.name.endsWith('.parquet')).map((e) => join(e.parentPath, e.name));
}

/** DuckDB's read of every lake file of `dataset` (a row may be there twice), or null without files. */
export async function lakeFiles(lakeDir: string, dataset: LakeDataset): Promise<string | null> {
  const dir = join(resolve(lakeDir), dataset.name);
  if ((await filesUnder(dir)).length === 0) return null;
  return `read_parquet(${quote(join(dir, '*', '*.parquet'))}, hive_partitioning = false)`;
}
