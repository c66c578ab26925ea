/**
 * The analytics outputs (product_performance, rfm_analysis, customer_segments, sales_trends):
 * their tables and columns, what a run recomputes, and how it empties the rows it replaces.
 * Both engines (postgres-engine.ts, duckdb-engine.ts) write them.
 */
import type { PoolClient } from '@lambdamart/core';

export interface AnalyticsOutput {
  table: string;
  columns: readonly string[];
  /** The order DuckDB writes the rows in: the primary key's, cheaper for its index. */
  key: string;
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
    key: 'analysis_date, product_id',
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
    key: 'analysis_date, user_id',
  },
  customer_segments: {
    table: 'customer_segments',
    columns: ['segment_name', 'customer_count', 'total_revenue', 'avg_order_value'],
    key: 'segment_name',
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
      'is_complete',
    ],
    key: 'period_type, period_value, category',
  },
} as const satisfies Record<string, AnalyticsOutput>;

export type AnalyticsModel = keyof typeof analyticsOutputs;

/** In run order: customer_segments reads the rfm_analysis rows of the same date. */
export const analyticsModels: readonly AnalyticsModel[] = ['product_performance', 'rfm_analysis', 'customer_segments', 'sales_trends'];

/**
 * What a run recomputes:
 * - 'changed': product_performance only for the days and products changed since the last run
 *   (every row when the replica cannot tell), RFM, segments and trends in full;
 * - 'all': every output in full;
 * - 'rebuild': every output in full, and DuckDB's replica rebuilt from the warehouse.
 */
export type AnalyticsRefresh = 'changed' | 'all' | 'rebuild';

/** The product_performance rows recomputed: every product on `dates`, every day of `products`. */
export interface PerformanceScope {
  dates: readonly string[];
  products: readonly string[];
}

export interface AnalyticsRun {
  /** DuckDB: whether the replica was refreshed or rebuilt (and why). */
  replica?: string;
  /** The product_performance rows recomputed: all, or those of so many days and products. */
  performance: 'all' | { dates: number; products: number };
  rowsIn: number;
  rowsOut: number;
  perModel: Record<AnalyticsModel, number>;
  /** Wall-clock seconds per step (steps may overlap): where the time goes. */
  steps: Record<string, number>;
}

/**
 * Empties the rows a run replaces. A whole product_performance is truncated: far cheaper than
 * deleting its ~700,000 rows, and readers wait for the job's commit rather than see it empty.
 */
export async function clearOutput(
  wh: PoolClient,
  model: AnalyticsModel,
  analysisDate: string,
  scope: PerformanceScope | null,
): Promise<void> {
  switch (model) {
    case 'product_performance':
      if (!scope) {
        await wh.query('truncate product_performance');
        return;
      }
      await wh.query('delete from product_performance where analysis_date = any($1::date[])', [scope.dates]);
      if (scope.products.length > 0) await wh.query('delete from product_performance where product_id = any($1::text[])', [scope.products]);
      return;
    case 'rfm_analysis':
      await wh.query('delete from rfm_analysis where analysis_date = $1', [analysisDate]);
      return;
    default:
      await wh.query(`delete from ${analyticsOutputs[model].table}`);
  }
}

export class Steps {
  readonly seconds: Record<string, number> = {};

  async time<T>(name: string, work: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await work();
    } finally {
      this.seconds[name] = Math.round(performance.now() - started) / 1000;
    }
  }
}

export const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);
