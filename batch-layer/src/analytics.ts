/**
 * The heavy analytics (product performance, RFM, customer segments, sales trends): one SQL file
 * each, in the SQL PostgreSQL and DuckDB share, run by either engine. DuckDB is the default: the
 * facts it needs are copied out of the warehouse with COPY, the models run in-process, and the
 * results are copied back with COPY. The Postgres engine runs the same files in the warehouse;
 * it is the benchmark's baseline and the reference the equality test compares against.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { PoolClient } from '@lambdamart/core';
import { loadModel } from '@lambdamart/warehouse';
import { copyFileToTable, copyQueryToFile } from './copy.ts';
import type { AnalyticsEngine } from './job.ts';

export interface AnalyticsOutput {
  table: string;
  columns: readonly string[];
  /** Removes the rows this run replaces. */
  clear: string;
}

export const analyticsOutputs = {
  product_performance: {
    table: 'product_performance',
    columns: [
      'analysis_date',
      'product_id',
      'category',
      'total_sales',
      'total_quantity',
      'total_revenue',
      'total_views',
      'total_cart_adds',
      'conversion_rate',
      'avg_price',
    ],
    clear: 'delete from product_performance',
  },
  rfm_analysis: {
    table: 'rfm_analysis',
    columns: [
      'analysis_date',
      'user_id',
      'recency_days',
      'frequency_count',
      'monetary_value',
      'recency_score',
      'frequency_score',
      'monetary_score',
      'rfm_segment',
    ],
    clear: 'delete from rfm_analysis where analysis_date = $1',
  },
  customer_segments: {
    table: 'customer_segments',
    columns: ['segment_name', 'customer_count', 'total_revenue', 'avg_order_value'],
    clear: 'delete from customer_segments',
  },
  sales_trends: {
    table: 'sales_trends',
    columns: [
      'period_type',
      'period_value',
      'period_start',
      'category',
      'total_sales',
      'total_revenue',
      'avg_order_value',
      'total_quantity',
      'growth_rate',
      'analysis_date',
    ],
    clear: 'delete from sales_trends',
  },
} as const satisfies Record<string, AnalyticsOutput>;

export type AnalyticsModel = keyof typeof analyticsOutputs;

/** In run order: customer_segments reads the rfm_analysis rows of the same date. */
export const analyticsModels: readonly AnalyticsModel[] = ['product_performance', 'rfm_analysis', 'customer_segments', 'sales_trends'];

/** The warehouse data DuckDB needs, with DuckDB column types. */
const duckdbInputs = [
  {
    table: 'fact_sales',
    query: 'select transaction_id, user_id, product_id, product_id_pk, quantity, total_amount, event_date from fact_sales',
    columns:
      "{'transaction_id': 'VARCHAR', 'user_id': 'VARCHAR', 'product_id': 'VARCHAR', 'product_id_pk': 'INTEGER', 'quantity': 'INTEGER', 'total_amount': 'DECIMAL(14,2)', 'event_date': 'DATE'}",
  },
  {
    table: 'fact_product_views',
    query: 'select product_id, event_date from fact_product_views',
    columns: "{'product_id': 'VARCHAR', 'event_date': 'DATE'}",
  },
  {
    table: 'fact_cart_events',
    query: 'select product_id, event_type, event_date from fact_cart_events',
    columns: "{'product_id': 'VARCHAR', 'event_type': 'VARCHAR', 'event_date': 'DATE'}",
  },
  {
    table: 'dim_products',
    query: "select product_id_pk, product_id, category, case when is_current then 'true' else 'false' end from dim_products",
    columns: "{'product_id_pk': 'INTEGER', 'product_id': 'VARCHAR', 'category': 'VARCHAR', 'is_current': 'BOOLEAN'}",
  },
] as const;

/**
 * The DuckDB twin of the warehouse's round_ratio(): n / d rounded half away from zero, computed
 * exactly on integers (n and d have at most two decimals), so both engines give the same digits.
 */
const duckdbRoundRatio = `
create macro round_ratio(n, d, s) as
  case when d is null or d = 0 or n is null then null
  else (case when (n < 0) <> (d < 0) then -1 else 1 end)
     * ((2 * abs(cast(n * 100 as hugeint)) * cast(pow(10, s) as hugeint) + abs(cast(d * 100 as hugeint)))
        // (2 * abs(cast(d * 100 as hugeint))))
     / pow(10, s)
  end`;

export interface AnalyticsRun {
  rowsIn: number;
  rowsOut: number;
  perModel: Record<AnalyticsModel, number>;
}

/** Replaces the analytics of `analysisDate` inside the caller's transaction on `wh`. */
export async function buildAnalytics(wh: PoolClient, engine: AnalyticsEngine, analysisDate: string): Promise<AnalyticsRun> {
  return engine === 'duckdb' ? buildWithDuckdb(wh, analysisDate) : buildWithPostgres(wh, analysisDate);
}

async function buildWithPostgres(wh: PoolClient, analysisDate: string): Promise<AnalyticsRun> {
  const perModel = {} as Record<AnalyticsModel, number>;
  let rowsOut = 0;
  for (const model of analyticsModels) {
    const out = analyticsOutputs[model];
    await wh.query(out.clear, out.clear.includes('$1') ? [analysisDate] : []);
    const sql = await loadModel(model, { analysis_date: analysisDate });
    const inserted = await wh.query(`insert into ${out.table} (${out.columns.join(', ')}) ${sql}`);
    perModel[model] = inserted.rowCount ?? 0;
    rowsOut += perModel[model];
  }
  const { rows } = await wh.query<{ n: number }>('select count(*)::bigint as n from fact_sales');
  return { rowsIn: rows[0]?.n ?? 0, rowsOut, perModel };
}

async function buildWithDuckdb(wh: PoolClient, analysisDate: string): Promise<AnalyticsRun> {
  const dir = await mkdtemp(join(tmpdir(), 'lambdamart-analytics-'));
  const instance = await DuckDBInstance.create(':memory:', { threads: '2', memory_limit: '2GB' });
  const duck = await instance.connect();
  try {
    let rowsIn = 0;
    for (const input of duckdbInputs) {
      const file = join(dir, `${input.table}.csv`);
      rowsIn += await copyQueryToFile(wh, input.query, file);
      await duck.run(
        `create table ${input.table} as select * from read_csv('${file}', header = false, auto_detect = false, delim = ',', quote = '"', escape = '"', columns = ${input.columns})`,
      );
    }
    await duck.run(duckdbRoundRatio);

    const perModel = {} as Record<AnalyticsModel, number>;
    let rowsOut = 0;
    for (const model of analyticsModels) {
      const out = analyticsOutputs[model];
      const sql = await loadModel(model, { analysis_date: analysisDate });
      // Kept as a DuckDB table too: a later model may read it (customer_segments reads rfm_analysis).
      await duck.run(`create or replace table ${model} as ${sql}`);
      const file = join(dir, `${model}.out.csv`);
      await duck.run(`copy (select ${out.columns.join(', ')} from ${model}) to '${file}' (header false)`);
      await wh.query(out.clear, out.clear.includes('$1') ? [analysisDate] : []);
      perModel[model] = await copyFileToTable(wh, file, out.table, out.columns);
      rowsOut += perModel[model];
    }
    return { rowsIn, rowsOut, perModel };
  } finally {
    duck.closeSync();
    instance.closeSync();
    await rm(dir, { recursive: true, force: true });
  }
}
